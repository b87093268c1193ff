// Package portal serves the developer web UI under /portal/: server-rendered html/template pages
// with embedded assets (no CDN; works offline).
package portal

import (
	"context"
	"embed"
	"html/template"
	"log/slog"
	"net/http"
	"time"
)

//go:embed templates/*.html
var templates embed.FS

var pages = template.Must(template.ParseFS(templates, "templates/*.html"))

// Status is what the landing page shows about the running stack.
type Status struct {
	Version      string
	TrustDomain  string
	StoreDialect string
	StoreOK      bool
}

// StatusFunc reports the stack's status for the landing page.
type StatusFunc func(ctx context.Context) Status

// Handler serves the portal pages.
func Handler(status StatusFunc, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /portal/{$}", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'unsafe-inline'")
		w.Header().Set("X-Frame-Options", "DENY")
		if err := pages.ExecuteTemplate(w, "index.html", status(ctx)); err != nil {
			log.ErrorContext(ctx, "render portal", "err", err)
		}
	})
	return mux
}
