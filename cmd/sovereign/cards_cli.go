package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sovereign-stack/sovereign/registry/registryhttp"
)

// Agent cards and templates on the command line: publish, update, delete, show and the history of
// a card (as its developer; show and history are public), and the registry's card templates.

func newCard() *cobra.Command {
	c := &cobra.Command{Use: "card", Short: "Publish, update, delete, show agent cards and their history"}
	var pub, upd, del, show, hist devFlags
	var (
		pubFile, updFile, status string
		signedOnly               bool
	)
	summary := func(w io.Writer, verb string, v registryhttp.CardView) {
		fmt.Fprintf(w, "%s %q as %s (version %d, %s, signature %s)\n", verb, v.Name, v.ID, v.Version, v.Status, v.SignatureStatus)
	}
	pc := &cobra.Command{
		Use: "publish --card FILE [--signed-only]", Short: "Publish a card you own (verified developer)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			card, err := readCardFile(pubFile)
			if err != nil {
				return err
			}
			var v registryhttp.CardView
			body := map[string]any{"card_data": json.RawMessage(card), "signed_only": signedOnly}
			if err := pub.call(http.MethodPost, "/api/v1/agent-cards", body, &v); err != nil {
				return err
			}
			return pub.show(cmd, v, func(w io.Writer) { summary(w, "published", v) })
		},
	}
	pub.bind(pc, true)
	pc.Flags().StringVar(&pubFile, "card", "", "the A2A card (JSON file)")
	pc.Flags().BoolVar(&signedOnly, "signed-only", false, "refuse the card unless one of its JWS signatures verifies")
	_ = pc.MarkFlagRequired("card")

	uc := &cobra.Command{
		Use: "update CARD_ID [--card FILE] [--status active|inactive]", Short: "Replace a card's content, or set its status", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if updFile == "" && status == "" {
				return errors.New("nothing to update: give --card FILE, --status, or both")
			}
			body := map[string]any{}
			if updFile == "" {
				// The status alone: the content stays as it is.
				var cur registryhttp.CardView
				if err := upd.call(http.MethodGet, "/api/v1/agent-cards/"+url.PathEscape(args[0]), nil, &cur); err != nil {
					return err
				}
				body["card_data"] = cur.CardData
			} else {
				card, err := readCardFile(updFile)
				if err != nil {
					return err
				}
				body["card_data"] = json.RawMessage(card)
			}
			if status != "" {
				body["status"] = status
			}
			var v registryhttp.CardView
			if err := upd.call(http.MethodPut, "/api/v1/agent-cards/"+url.PathEscape(args[0]), body, &v); err != nil {
				return err
			}
			return upd.show(cmd, v, func(w io.Writer) { summary(w, "updated", v) })
		},
	}
	upd.bind(uc, true)
	uc.Flags().StringVar(&updFile, "card", "", "the new A2A card (JSON file)")
	uc.Flags().StringVar(&status, "status", "", "active or inactive (suspending and revoking are agent commands)")

	dc := &cobra.Command{
		Use: "delete CARD_ID", Short: "Delete a card you own", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := del.call(http.MethodDelete, "/api/v1/agent-cards/"+url.PathEscape(args[0]), nil, nil); err != nil {
				return err
			}
			return del.show(cmd, map[string]any{"id": args[0], "deleted": true}, func(w io.Writer) { fmt.Fprintf(w, "deleted %s\n", args[0]) })
		},
	}
	del.bind(dc, true)

	sc := &cobra.Command{
		Use: "show CARD_ID", Short: "Show a card as the registry keeps it (public)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var v registryhttp.CardView
			if err := newRegistryClient(show.registry, "").do(http.MethodGet, "/api/v1/agent-cards/"+url.PathEscape(args[0]), nil, nil, &v); err != nil {
				return err
			}
			return show.show(cmd, v, func(w io.Writer) {
				summary(w, "card", v)
				fmt.Fprintf(w, "  %s\n  owner %s, tags %s, updated %s\n", v.Description, v.OwnerID, strings.Join(v.Tags, ","), v.UpdatedAt.UTC().Format(time.RFC3339))
			})
		},
	}
	show.bind(sc, false)

	hc := &cobra.Command{
		Use: "history CARD_ID", Short: "List a card's versions, oldest first (public)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var page registryhttp.CardHistoryPage
			if err := newRegistryClient(hist.registry, "").do(http.MethodGet, "/api/v1/agent-cards/"+url.PathEscape(args[0])+"/history?limit=500", nil, nil, &page); err != nil {
				return err
			}
			return hist.show(cmd, page, func(w io.Writer) {
				rows := make([][]string, 0, len(page.Items))
				for _, v := range page.Items {
					rows = append(rows, []string{fmt.Sprint(v.Version), v.Change, v.ChangedBy, v.CreatedAt.UTC().Format(time.RFC3339)})
				}
				printTable(w, []string{"VERSION", "CHANGE", "BY", "AT"}, rows)
			})
		},
	}
	hist.bind(hc, false)
	c.AddCommand(pc, uc, dc, sc, hc)
	return c
}

func newTemplate() *cobra.Command {
	c := &cobra.Command{Use: "template", Short: "The registry's agent-card templates: list, show, render"}
	var list, show, render devFlags
	var params []string
	lc := &cobra.Command{
		Use: "list", Short: "List templates, built-in and stored", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var page registryhttp.TemplatePage
			if err := newRegistryClient(list.registry, "").do(http.MethodGet, "/api/v1/templates?limit=500", nil, nil, &page); err != nil {
				return err
			}
			return list.show(cmd, page, func(w io.Writer) {
				rows := make([][]string, 0, len(page.Items))
				for _, t := range page.Items {
					rows = append(rows, []string{t.Name, t.Kind, fmt.Sprint(t.Builtin), t.Description})
				}
				printTable(w, []string{"NAME", "KIND", "BUILT-IN", "DESCRIPTION"}, rows)
			})
		},
	}
	list.bind(lc, false)
	sc := &cobra.Command{
		Use: "show NAME", Short: "Show a template and its parameters", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var t registryhttp.TemplateView
			if err := newRegistryClient(show.registry, "").do(http.MethodGet, "/api/v1/templates/"+url.PathEscape(args[0]), nil, nil, &t); err != nil {
				return err
			}
			return show.show(cmd, t, func(w io.Writer) {
				fmt.Fprintf(w, "%s (%s agent): %s\n", t.Name, t.Kind, t.Description)
				b, _ := json.Marshal(t.Parameters)
				fmt.Fprintf(w, "parameters: %s\nrender: sovereign template render %s --param key=value …\n", b, t.Name)
			})
		},
	}
	show.bind(sc, false)
	rc := &cobra.Command{
		Use: "render NAME [--param key=value ...]", Short: "Render a template into a validated agent card (JSON)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, card, _, err := renderForProject(cmd.Context(), args[0], render.registry, params)
			if err != nil {
				return err
			}
			var doc any
			if err := json.Unmarshal(card, &doc); err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), doc)
		},
	}
	render.bind(rc, false)
	rc.Flags().StringArrayVar(&params, "param", nil, "parameter value key=value (repeatable; lists comma-separated)")
	c.AddCommand(lc, sc, rc)
	return c
}
