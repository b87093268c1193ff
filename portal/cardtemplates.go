package portal

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/buildinfo"
	"github.com/sovereign-stack/sovereign/cardtemplate"
	"github.com/sovereign-stack/sovereign/registry"
)

var errNoTemplates = apperr.New(apperr.Unavailable, "TEMPLATES_UNAVAILABLE", "templates are not available on this registry")

// templatesPage lists the templates.
func (p *portal) templatesPage(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title = "Templates"
	if p.cfg.Templates == nil {
		p.fail(w, r, "templates.html", v, errNoTemplates)
		return
	}
	list, err := p.cfg.Templates.List(r.Context(), "", 500)
	if err != nil {
		p.fail(w, r, "templates.html", v, err)
		return
	}
	v.Data = list
	p.render(w, r, http.StatusOK, "templates.html", v)
}

// templateView is a template's page: its parameters as a form, and what it rendered.
type templateView struct {
	T       *cardtemplate.Template
	Card    string
	Command string
}

func (p *portal) loadTemplate(w http.ResponseWriter, r *http.Request, v *view) (*templateView, bool) {
	v.Title = "Template"
	if p.cfg.Templates == nil {
		p.fail(w, r, "message.html", v, errNoTemplates)
		return nil, false
	}
	t, err := p.cfg.Templates.Get(r.Context(), r.PathValue("name"))
	if err != nil {
		p.fail(w, r, "message.html", v, err)
		return nil, false
	}
	v.Title = "Template " + t.Name
	d := &templateView{T: t}
	v.Data = d
	return d, true
}

func (p *portal) templatePage(w http.ResponseWriter, r *http.Request, v *view) {
	d, ok := p.loadTemplate(w, r, v)
	if !ok {
		return
	}
	v.Form = map[string]string{}
	for _, prm := range d.T.Parameters {
		v.Form["p_"+prm.Name] = defaultText(prm.Default)
	}
	p.render(w, r, http.StatusOK, "template.html", v)
}

// defaultText is a parameter default as a form shows it.
func defaultText(d any) string {
	switch x := d.(type) {
	case nil:
		return ""
	case string:
		return x
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := e.(string); ok {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, ", ")
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

// renderTemplate renders the template with the form's values into a card (action=render, the
// default), publishes that card (action=publish) or answers the runnable project as a zip
// (action=project).
func (p *portal) renderTemplate(w http.ResponseWriter, r *http.Request, v *view) {
	d, ok := p.loadTemplate(w, r, v)
	if !ok {
		return
	}
	v.Form = map[string]string{}
	values := map[string]any{}
	var args []string
	for _, prm := range d.T.Parameters {
		s := r.PostForm.Get("p_" + prm.Name)
		v.Form["p_"+prm.Name] = s
		if strings.TrimSpace(s) == "" {
			continue
		}
		val, err := cardtemplate.ParseValue(prm, s)
		if err != nil {
			p.fail(w, r, "template.html", v, withField(err, "p_"+prm.Name))
			return
		}
		values[prm.Name] = val
		args = append(args, "--param "+shellQuote(prm.Name+"="+s))
	}
	card, err := p.cfg.Templates.Render(r.Context(), d.T.Name, values)
	if err != nil {
		if f := failField(err); f != "" {
			if _, ok := d.T.Param(f); ok {
				err = withField(err, "p_"+f)
			}
		}
		p.fail(w, r, "template.html", v, err)
		return
	}
	var pretty bytes.Buffer
	_ = json.Indent(&pretty, card, "", "  ")
	d.Card = pretty.String()
	d.Command = "sovereign agent new --template " + d.T.Name
	if len(args) > 0 {
		d.Command += " " + strings.Join(args, " ")
	}
	d.Command += " --registry " + p.cfg.PublicURL + " my-agent"
	switch r.PostForm.Get("action") {
	case "publish":
		c, err := p.cfg.Cards.Create(r.Context(), sessionOf(r).subject, registry.CardInput{JSON: card})
		if err != nil {
			p.fail(w, r, "template.html", v, err)
			return
		}
		http.Redirect(w, r, "/portal/agents?saved="+c.ID, http.StatusSeeOther)
		return
	case "project":
		resolved, _ := cardtemplate.Resolve(*d.T, values)
		zipped, err := projectZip(*d.T, card, resolved)
		if err != nil {
			p.fail(w, r, "template.html", v, err)
			return
		}
		w.Header().Set("Content-Type", "application/zip")
		w.Header().Set("Content-Disposition", `attachment; filename="`+d.T.Name+`-agent.zip"`)
		_, _ = w.Write(zipped)
		return
	}
	v.Flash = "Rendered: the card below is valid. Publish it, or download the runnable project."
	p.render(w, r, http.StatusOK, "template.html", v)
}

var releaseVersion = regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$`)

// projectZip writes the template's project for card into a temporary directory and zips it
// under my-agent/.
func projectZip(t cardtemplate.Template, card []byte, values map[string]any) ([]byte, error) {
	tmp, err := os.MkdirTemp("", "sovereign-portal-project-")
	if err != nil {
		return nil, apperr.Internalf("project directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, "my-agent")
	opts := cardtemplate.ProjectOptions{Values: values}
	if releaseVersion.MatchString(buildinfo.Version) {
		opts.SDKVersion = buildinfo.Version
	}
	if err := cardtemplate.WriteProject(dir, t, card, opts); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	err = filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(tmp, path)
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		f, err := zw.Create(filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		_, err = f.Write(b)
		return err
	})
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		return nil, apperr.Internalf("zip project: %w", err)
	}
	return buf.Bytes(), nil
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(c rune) bool {
		return !(c == '-' || c == '_' || c == '=' || c == '.' || c == '/' || c == ':' || c == ',' ||
			('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9'))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
