package cardtemplate

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"sort"
	"sync"
)

//go:embed builtin/*.json
var builtinFS embed.FS

var builtins = sync.OnceValues(loadBuiltins)

// Builtins returns the templates that ship with the binary, in name order: echo-agent,
// llm-agent and tool-agent. They are read-only (Builtin true, no owner, Version 1). The slice
// is the caller's; its templates share their Card bytes, which must not be modified.
func Builtins() []Template {
	ts, err := builtins()
	if err != nil {
		panic(err) // the embedded files are checked by the package's tests
	}
	out := make([]Template, len(ts))
	for i, t := range ts {
		t.Parameters = append([]Param(nil), t.Parameters...)
		out[i] = t
	}
	return out
}

// Builtin returns the built-in template named name.
func Builtin(name string) (Template, bool) {
	for _, t := range Builtins() {
		if t.Name == name {
			return t, true
		}
	}
	return Template{}, false
}

func loadBuiltins() ([]Template, error) {
	files, err := fs.Glob(builtinFS, "builtin/*.json")
	if err != nil {
		return nil, err
	}
	var out []Template
	for _, f := range files {
		raw, err := builtinFS.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var t Template
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&t); err != nil {
			return nil, fmt.Errorf("cardtemplate: built-in %s: %w", f, err)
		}
		t.Builtin, t.OwnerID, t.Version = true, "", 1
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
