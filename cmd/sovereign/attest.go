package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sovereign-stack/sovereign/agentvault"
	"github.com/sovereign-stack/sovereign/attestation"
)

// attestationLine is one attestation as a line of text.
func attestationLine(a attestation.Attestation) string {
	paid := "reward " + a.Reward.String() + " AVT paid"
	if !a.RewardPaid {
		paid = "reward " + a.Reward.String() + " AVT pending"
	}
	return fmt.Sprintf("%s  %s  %s about %s by %s  %s  %s", a.ID, a.CreatedAt.UTC().Format(time.RFC3339), a.Type, a.Subject, a.Attester, a.EvidenceURI, paid)
}

func newAttest() *cobra.Command {
	t := &tokenFlags{}
	c := &cobra.Command{Use: "attest", Short: "Attestations: signed statements of agents' verified contributions, rewarded from the treasury"}
	pf := c.PersistentFlags()
	pf.StringVar(&t.registry, "registry", envOr("SOVEREIGN_REGISTRY", "http://127.0.0.1:8420"), "base URL of the stack (env SOVEREIGN_REGISTRY)")
	pf.BoolVar(&t.asJSON, "json", false, "print JSON")

	var (
		agentID, typ, subject, attester, evHash, evFile, evURI, issuedAt, transfer, cosig string
		signOnly                                                                          bool
	)
	submit := &cobra.Command{
		Use:   "submit --type TYPE --subject AGENT (--evidence-hash sha256:… | --evidence-file FILE) --evidence-uri URI",
		Short: "Sign an attestation with a stored agent's Ed25519 key and submit it (or only sign it: --sign-only)",
		Long: `submit signs an attestation as a stored agent (see 'sovereign agent register'; --agent picks
one) with its registered Ed25519 key, and submits it: the stack verifies the signature, stores the
attestation and pays its subject the type's reward from the treasury (0.5 AVT by default), once.

Types: code_review and data_quality (about another agent, of another developer; signed by the
attester alone) and task_completed (about the attester itself, the payee of --transfer, co-signed by
the transfer's payer). For task_completed, the payer signs the same statement first and sends the
payee its signature:

  payer$  sovereign attest submit --sign-only --type task_completed --subject PAYEE --attester PAYEE \
            --transfer TX --evidence-hash sha256:… --evidence-uri URI --issued-at 2026-03-01T12:00:00Z > cosig.json
  payee$  sovereign attest submit --type task_completed --subject PAYEE --transfer TX \
            --evidence-hash sha256:… --evidence-uri URI --issued-at 2026-03-01T12:00:00Z --cosignature cosig.json

Uptime attestations are issued by the registry from its heartbeat record (POST /api/v1/attestations:uptime).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if evFile != "" {
				if evHash != "" {
					return fmt.Errorf("--evidence-hash and --evidence-file both give the evidence: give one")
				}
				f, err := os.Open(evFile)
				if err != nil {
					return err
				}
				h := sha256.New()
				_, err = io.Copy(h, f)
				f.Close()
				if err != nil {
					return err
				}
				evHash = "sha256:" + hex.EncodeToString(h.Sum(nil))
			}
			at := time.Now().UTC().Truncate(time.Second)
			if issuedAt != "" {
				var err error
				if at, err = time.Parse(time.RFC3339, issuedAt); err != nil {
					return fmt.Errorf("--issued-at: %w", err)
				}
			}
			a, err := storedAgent(ctx, t.registry, agentID)
			if err != nil {
				return err
			}
			ks, err := keyStore()
			if err != nil {
				return err
			}
			id, err := agentvault.LoadIdentity(ctx, ks, a.ID)
			if err != nil {
				return fmt.Errorf("the Ed25519 key of %s: %w", a.ID, err)
			}
			if attester == "" {
				attester = a.ID
			}
			st := attestation.Statement{Type: typ, Subject: subject, Attester: attester, EvidenceHash: evHash, EvidenceURI: evURI, IssuedAt: at.UTC(), TransferID: transfer}
			sig := id.SignAttestation(st, a.ID)
			if signOnly {
				return printJSON(cmd.OutOrStdout(), sig)
			}
			body := map[string]any{"type": st.Type, "subject": st.Subject, "attester": st.Attester, "evidence_hash": st.EvidenceHash,
				"evidence_uri": st.EvidenceURI, "issued_at": st.IssuedAt.Format(time.RFC3339), "signature": sig}
			if transfer != "" {
				body["transfer_id"] = transfer
			}
			if cosig != "" {
				raw, err := os.ReadFile(cosig)
				if err != nil {
					return err
				}
				var co attestation.Signature
				if err := json.Unmarshal(raw, &co); err != nil {
					return fmt.Errorf("--cosignature %s: %w", cosig, err)
				}
				body["cosignature"] = co
			}
			cl, _, err := agentClient(t.registry, a.ID)
			if err != nil {
				return err
			}
			var out attestation.Attestation
			if err := cl.do("POST", "/api/v1/attestations", nil, body, &out); err != nil {
				return err
			}
			t.print(cmd, out, "attested: "+attestationLine(out))
			return nil
		},
	}
	sf := submit.Flags()
	sf.StringVar(&agentID, "agent", "", "the stored agent that signs (default: the current one)")
	sf.StringVar(&typ, "type", "", "task_completed, code_review or data_quality")
	sf.StringVar(&subject, "subject", "", "the agent the attestation is about")
	sf.StringVar(&attester, "attester", "", "the attester (default: the signing agent; a payer co-signing with --sign-only names the payee)")
	sf.StringVar(&evHash, "evidence-hash", "", "sha256:<64 hex> of the evidence")
	sf.StringVar(&evFile, "evidence-file", "", "a file whose SHA-256 is the evidence hash")
	sf.StringVar(&evURI, "evidence-uri", "", "where the evidence is (https, http or ipfs; at most 512 bytes)")
	sf.StringVar(&issuedAt, "issued-at", "", "RFC 3339 time the statement is issued at (default: now); co-signers must use the same")
	sf.StringVar(&transfer, "transfer", "", "task_completed: the completed transfer the subject was paid by")
	sf.StringVar(&cosig, "cosignature", "", "task_completed: a file with the payer's signature (from --sign-only)")
	sf.BoolVar(&signOnly, "sign-only", false, "print this agent's signature of the statement as JSON and submit nothing")
	for _, f := range []string{"type", "subject", "evidence-uri"} {
		_ = submit.MarkFlagRequired(f)
	}

	var qSubject, qType, qAttester, cursor string
	var limit int
	list := &cobra.Command{
		Use: "list [--subject AGENT] [--type TYPE] [--attester ID]", Short: "Attestations, newest first, by subject, type and attester", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := url.Values{"limit": {strconv.Itoa(limit)}}
			for k, v := range map[string]string{"subject": qSubject, "type": qType, "attester": qAttester, "cursor": cursor} {
				if v != "" {
					q.Set(k, v)
				}
			}
			var page struct {
				Items      []attestation.Attestation `json:"items"`
				NextCursor string                    `json:"next_cursor,omitempty"`
			}
			if err := t.readClient().do("GET", "/api/v1/attestations?"+q.Encode(), nil, nil, &page); err != nil {
				return err
			}
			if t.asJSON {
				t.print(cmd, page, "")
				return nil
			}
			w := cmd.OutOrStdout()
			for _, a := range page.Items {
				fmt.Fprintln(w, attestationLine(a))
			}
			if len(page.Items) == 0 {
				fmt.Fprintln(w, "(no attestations)")
			}
			if page.NextCursor != "" {
				fmt.Fprintln(w, "(more: --cursor "+page.NextCursor+")")
			}
			return nil
		},
	}
	lf := list.Flags()
	lf.StringVar(&qSubject, "subject", "", "only about this agent")
	lf.StringVar(&qType, "type", "", "only of this type")
	lf.StringVar(&qAttester, "attester", "", "only by this attester")
	lf.IntVar(&limit, "limit", 50, "how many (1–500)")
	lf.StringVar(&cursor, "cursor", "", "continue after a previous page")
	c.AddCommand(submit, list)
	return c
}

// newVerifyAttestation is `sovereign reputation verify-attestation`: an offline verifier.
func newVerifyAttestation(t *tokenFlags) *cobra.Command {
	var trustDomain string
	c := &cobra.Command{
		Use:   "verify-attestation <id | @file>",
		Short: "Verify an attestation's signatures offline against the stack's trust bundle",
		Long: `verify-attestation checks an attestation on this machine: the one with this id as the stack
serves it (GET /api/v1/attestations/{id}), or one saved in a file (@file). It fetches the trust bundle
(GET /.well-known/spiffe-bundle) and checks that the id is the statement's digest, an Ed25519
signature against the did:key it names, and a JWT-SVID signature against the bundle as of when the
stack accepted the attestation. It exits non-zero when a signature does not verify. An agent or
another registry does the same with agentvault.FetchTrustBundle and agentvault.VerifyAttestation.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var a attestation.Attestation
			if file, ok := strings.CutPrefix(args[0], "@"); ok {
				raw, err := os.ReadFile(file)
				if err != nil {
					return err
				}
				if err := json.Unmarshal(raw, &a); err != nil {
					return fmt.Errorf("%s: %w", file, err)
				}
			} else if err := t.readClient().do("GET", "/api/v1/attestations/"+url.PathEscape(args[0]), nil, nil, &a); err != nil {
				return err
			}
			b, err := agentvault.FetchTrustBundle(cmd.Context(), nil, t.registry, trustDomain)
			if err != nil {
				return fmt.Errorf("trust bundle from %s: %w", t.registry, err)
			}
			v, err := agentvault.VerifyAttestation(a, trustDomain, b)
			if err != nil {
				return err
			}
			human := fmt.Sprintf("valid: %s attested by %s (%s), about %s", a.Type, a.Attester, a.Signature.Alg, a.Subject)
			if a.Cosignature != nil {
				human += fmt.Sprintf(", co-signed by %s", a.Cosignature.Signer)
			}
			if !v.Valid {
				t.print(cmd, v, "")
				return fmt.Errorf("attestation %s does not verify: signature %s; co-signature %s", a.ID, v.Signature, v.Cosignature)
			}
			t.print(cmd, v, human)
			return nil
		},
	}
	c.Flags().StringVar(&trustDomain, "trust-domain", envOr("SOVEREIGN_TRUST_DOMAIN", "sovereign.test"), "the stack's trust domain (env SOVEREIGN_TRUST_DOMAIN)")
	return c
}
