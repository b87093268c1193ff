package a2a

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
)

// contentTypeSSE is the media type of a Server-Sent Events stream.
const contentTypeSSE = "text/event-stream"

// sseWriter writes Server-Sent Events, one "data:" line per event, flushing after each.
type sseWriter struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

// startSSE sends the headers of an event stream (status 200).
func startSSE(w http.ResponseWriter) *sseWriter {
	h := w.Header()
	h.Set("Content-Type", contentTypeSSE)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	s := &sseWriter{w: w, rc: http.NewResponseController(w)}
	_ = s.rc.Flush()
	return s
}

// event writes data (one line of compact JSON: it must hold no newline) as one event.
func (s *sseWriter) event(data []byte) error {
	if bytes.ContainsAny(data, "\r\n") {
		return errors.New("a2a: SSE data holds a line break")
	}
	if _, err := fmt.Fprintf(s.w, "data: %s\n\n", data); err != nil {
		return err
	}
	if err := s.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}

// readSSE yields the data of each event of an SSE stream (the "data:" lines of one event joined
// by newlines), ignoring comments and other fields. An event over maxSSEEventBytes ends the
// stream with an error.
func readSSE(r io.Reader) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 64<<10), maxSSEEventBytes)
		var data []byte
		has := false
		for sc.Scan() {
			line := sc.Bytes()
			if len(line) == 0 {
				if has {
					if !yield(data, nil) {
						return
					}
				}
				data, has = nil, false
				continue
			}
			if line[0] == ':' {
				continue
			}
			field, value, _ := bytes.Cut(line, []byte(":"))
			value = bytes.TrimPrefix(value, []byte(" "))
			if string(field) != "data" {
				continue
			}
			if has {
				data = append(data, '\n')
			}
			if len(data)+len(value) > maxSSEEventBytes {
				yield(nil, fmt.Errorf("a2a: SSE event exceeds %d bytes", maxSSEEventBytes))
				return
			}
			data = append(data, value...)
			has = true
		}
		if err := sc.Err(); err != nil {
			yield(nil, fmt.Errorf("a2a: reading event stream: %w", err))
			return
		}
		if has {
			yield(data, nil)
		}
	}
}
