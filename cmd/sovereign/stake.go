package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/teg"
	"github.com/sovereign-stack/sovereign/teg/tegclient"
	"github.com/sovereign-stack/sovereign/teg/teghttp"
	"github.com/sovereign-stack/sovereign/tracing"
)

// stakeFlags are the flags every stake and validator command shares: the connection (as for
// `sovereign token`) and the agent acted for.
type stakeFlags struct {
	tokenFlags
	agent string // the agent acted for ("": the caller's own)
	idem  string
}

func (s *stakeFlags) bind(c *cobra.Command) {
	pf := c.PersistentFlags()
	pf.StringVar(&s.registry, "registry", envOr("SOVEREIGN_REGISTRY", "http://127.0.0.1:8420"), "base URL of the stack (env SOVEREIGN_REGISTRY)")
	pf.StringVar(&s.credential, "credential", "", "an agent's JWT-SVID or an avreg_ API key (env SOVEREIGN_TOKEN, SOVEREIGN_API_KEY)")
	pf.StringVar(&s.as, "as", "", "act as this agent registered from this machine ('sovereign agent register'; default: the only or last one)")
	pf.BoolVar(&s.asJSON, "json", false, "print JSON")
}

// teg is the typed client of the staking routes, with the caller's credential.
func (s *stakeFlags) teg() (*tegclient.Client, error) {
	api, err := s.client()
	if err != nil {
		return nil, err
	}
	c, err := tegclient.New(api.base, api.http)
	if err != nil {
		return nil, fmt.Errorf("--registry: %w", err)
	}
	return c.WithBearer(api.credential), nil
}

// self is the agent a read is about: --agent, or the caller (the account its balance names).
func (s *stakeFlags) self(ctx context.Context) (string, error) {
	if s.agent != "" {
		return s.agent, nil
	}
	api, err := s.client()
	if err != nil {
		return "", err
	}
	var b struct {
		Account string `json:"account"`
	}
	if err := api.do("GET", "/api/v1/token/balance", nil, nil, &b); err != nil {
		return "", fmt.Errorf("which agent? pass --agent (%w)", err)
	}
	return b.Account, nil
}

// clientAndAgent is the client of the credential in use and the agent a read is about.
func (s *stakeFlags) clientAndAgent(ctx context.Context) (*tegclient.Client, string, error) {
	c, err := s.teg()
	if err != nil {
		return nil, "", err
	}
	id, err := s.self(ctx)
	if err != nil {
		return nil, "", err
	}
	return c, id, nil
}

func (s *stakeFlags) idemKey() string {
	if s.idem == "" {
		return fmt.Sprintf("cli-%d", time.Now().UnixNano())
	}
	return s.idem
}

// cliError shows an error of the API with its details, as the token commands do.
func cliError(err error) error {
	if e, ok := apperr.As(err); ok && e.Code != tegclient.CodeTEGUnavailable {
		d := map[string]any{}
		for k, v := range e.Details {
			if k != "teg_request_id" {
				d[k] = v
			}
		}
		return &apiError{Code: e.Code, Message: e.Message, Details: d}
	}
	return err
}

// printTransfer prints a staking write's ledger event.
func (s *stakeFlags) printTransfer(cmd *cobra.Command, t teg.Transfer, replayed bool, idem string) {
	v := tokenTransfer{ID: t.ID, Kind: string(t.Kind), From: string(t.From), To: string(t.To), Amount: t.Amount.String(), Fee: t.Fee.String(),
		Message: t.Message, Seq: t.Seq, Replayed: replayed, Created: t.CreatedAt.Format(time.RFC3339Nano)}
	s.print(cmd, v, v.line()+"  (Idempotency-Key "+idem+")")
}

// stakeWrite builds a command that runs one staking write with the parsed flags.
func stakeWrite(s *stakeFlags, use, short string, run func(ctx context.Context, c *tegclient.Client, idem string, args []string) (teg.Transfer, bool, error)) *cobra.Command {
	cmd := &cobra.Command{
		Use: use, Short: short, Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := s.teg()
			if err != nil {
				return err
			}
			idem := s.idemKey()
			t, replayed, err := run(cmd.Context(), c, idem, args)
			if err != nil {
				return cliError(err)
			}
			s.printTransfer(cmd, t, replayed, idem)
			return nil
		},
	}
	cmd.Flags().StringVar(&s.agent, "agent", "", "the agent acted for (default: your own; admins name any)")
	cmd.Flags().StringVar(&s.idem, "idempotency-key", "", "retry-safe key (default: a new one; reuse it to retry safely)")
	return cmd
}

// amountFlag parses an --amount-like flag.
func amountFlag(name, v string) (avt.Amount, error) {
	a, err := avt.Parse(v)
	if e, ok := apperr.As(err); ok {
		return avt.Amount{}, fmt.Errorf("--%s %q: %s: %s", name, v, e.Code, strings.Replace(e.Message, "amount", "the amount", 1))
	} else if err != nil {
		return avt.Amount{}, fmt.Errorf("--%s %q: %w", name, v, err)
	}
	return a, nil
}

// stakeAmountCmd is a write of an amount with an optional or required validator (stake,
// unstake, delegate, undelegate).
func stakeAmountCmd(s *stakeFlags, use, short string, needValidator bool,
	call func(*tegclient.Client, context.Context, tegclient.StakeRequest, string) (teg.Transfer, bool, error)) *cobra.Command {
	var amount, validator string
	cmd := stakeWrite(s, use, short, func(ctx context.Context, c *tegclient.Client, idem string, _ []string) (teg.Transfer, bool, error) {
		a, err := amountFlag("amount", amount)
		if err != nil {
			return teg.Transfer{}, false, err
		}
		return call(c, ctx, tegclient.StakeRequest{Agent: s.agent, Validator: validator, Amount: a}, idem)
	})
	cmd.Flags().StringVar(&amount, "amount", "", "AVT, e.g. 100 or 12.5")
	_ = cmd.MarkFlagRequired("amount")
	if needValidator {
		cmd.Flags().StringVar(&validator, "validator", "", "the validator's agent id")
		_ = cmd.MarkFlagRequired("validator")
	} else {
		cmd.Flags().StringVar(&validator, "validator", "", "the validator (default: your own stake — your validator if you run one)")
	}
	return cmd
}

func newStake() *cobra.Command {
	s := &stakeFlags{}
	c := &cobra.Command{Use: "stake", Short: "Staking: stake and unstake AVT, delegate to validators, rewards",
		Long: `stake bonds an agent's AVT: its own stake, or delegations to validators. Stake earns a share of
the fees and of the treasury's emission every epoch; unstaked AVT returns after the unbonding
period (7 days by default). The agent acting is the one whose credential is used (--credential,
SOVEREIGN_TOKEN, or --as a registered agent); admins act for an agent with --agent.`}
	s.bind(c)

	balance := &cobra.Command{
		Use: "balance", Short: "Show liquid, staked, unbonding, rewards, delegations and unbonding entries (default: your own)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, id, err := s.clientAndAgent(cmd.Context())
			if err != nil {
				return err
			}
			p, err := c.StakingPosition(cmd.Context(), id)
			if err != nil {
				return cliError(err)
			}
			if s.asJSON {
				s.print(cmd, p, "")
				return nil
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%s: liquid %s, staked %s, unbonding %s, rewards %s AVT", p.Agent, p.Liquid, p.Staked, p.Unbonding, p.Rewards)
			if p.Commission != "0" {
				fmt.Fprintf(out, ", commission %s AVT", p.Commission)
			}
			fmt.Fprintf(out, " (epoch %d)\n", p.Epoch.Epoch)
			if p.Validator != nil {
				fmt.Fprintln(out, "  runs "+validatorLine(*p.Validator))
			}
			for _, d := range p.Delegations {
				comp := ""
				if d.Compound {
					comp = ", auto-compound"
				}
				fmt.Fprintf(out, "  delegation %-20s %s AVT, rewards %s AVT%s\n", d.Validator, d.Amount, d.Rewards, comp)
			}
			for _, u := range p.Unbondings {
				fmt.Fprintf(out, "  unbonding  %-20s %s AVT, released %s\n", u.Validator, u.Balance, u.CompletesAt.Local().Format(time.RFC3339))
			}
			return nil
		},
	}
	balance.Flags().StringVar(&s.agent, "agent", "", "the agent (default: your own; admins read any)")

	rewards := &cobra.Command{
		Use: "rewards", Short: "Show pending rewards (default: your own)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, id, err := s.clientAndAgent(cmd.Context())
			if err != nil {
				return err
			}
			r, err := c.Rewards(cmd.Context(), id)
			if err != nil {
				return cliError(err)
			}
			if s.asJSON {
				s.print(cmd, r, "")
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s AVT to claim (commission %s AVT) after epoch %d\n", r.Agent, r.Total, r.Commission, r.Epoch)
			for _, d := range r.Delegations {
				fmt.Fprintf(cmd.OutOrStdout(), "  %-20s %s AVT\n", d.Validator, d.Rewards)
			}
			return nil
		},
	}
	rewards.Flags().StringVar(&s.agent, "agent", "", "the agent (default: your own; admins read any)")

	var from, to, amount, claimValidator, compoundValidator string
	redelegate := stakeWrite(s, "redelegate", "Move stake from one validator to another at once", func(ctx context.Context, c *tegclient.Client, idem string, _ []string) (teg.Transfer, bool, error) {
		a, err := amountFlag("amount", amount)
		if err != nil {
			return teg.Transfer{}, false, err
		}
		return c.Redelegate(ctx, tegclient.StakeRequest{Agent: s.agent, Validator: from, To: to, Amount: a}, idem)
	})
	redelegate.Flags().StringVar(&from, "from", "", "the validator the stake leaves")
	redelegate.Flags().StringVar(&to, "to", "", "the validator it moves to")
	redelegate.Flags().StringVar(&amount, "amount", "", "AVT")
	for _, f := range []string{"from", "to", "amount"} {
		_ = redelegate.MarkFlagRequired(f)
	}
	claim := stakeWrite(s, "claim", "Claim your rewards (and, running a validator, its commission)", func(ctx context.Context, c *tegclient.Client, idem string, _ []string) (teg.Transfer, bool, error) {
		return c.Claim(ctx, s.agent, claimValidator, idem)
	})
	claim.Flags().StringVar(&claimValidator, "validator", "", "claim only the rewards of the stake with this validator")
	compound := stakeWrite(s, "compound on|off", "Turn auto-compounding of a stake on or off", func(ctx context.Context, c *tegclient.Client, idem string, args []string) (teg.Transfer, bool, error) {
		on := args[0] == "on"
		return c.SetCompound(ctx, s.agent, compoundValidator, on, idem)
	})
	compound.Args = cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs)
	compound.ValidArgs = []string{"on", "off"}
	compound.Flags().StringVar(&compoundValidator, "validator", "", "the stake with this validator (default: your own stake)")

	c.AddCommand(balance, rewards, redelegate, claim, compound,
		stakeAmountCmd(s, "deposit", "Stake liquid AVT (your own stake, or with --validator)", false, (*tegclient.Client).Stake),
		stakeAmountCmd(s, "withdraw", "Unstake: the AVT returns after the unbonding period", false, (*tegclient.Client).Unstake),
		stakeAmountCmd(s, "delegate", "Delegate liquid AVT to a validator", true, (*tegclient.Client).Delegate),
		stakeAmountCmd(s, "undelegate", "Unstake a delegation: the AVT returns after the unbonding period", true, (*tegclient.Client).Undelegate),
	)
	return c
}

func validatorLine(v teghttp.ValidatorView) string {
	state := "active"
	if v.Jailed {
		state = "JAILED"
	}
	return fmt.Sprintf("%-20s stake %s AVT (self %s), commission %s %%, %d delegators, uptime %s %%, %s", v.ID, v.Stake, v.SelfStake,
		strconv.FormatFloat(float64(v.CommissionBps)/100, 'f', -1, 64), v.Delegators, strconv.FormatFloat(v.Uptime*100, 'f', -1, 64), state)
}

func newValidator() *cobra.Command {
	s := &stakeFlags{}
	c := &cobra.Command{Use: "validator", Short: "Validators: become one, set its commission, list them, unjail"}
	s.bind(c)

	var selfStake string
	var commission, editCommission int64
	create := stakeWrite(s, "create", "Become a validator with a self-stake (at least 1,000 AVT by default)", func(ctx context.Context, c *tegclient.Client, idem string, _ []string) (teg.Transfer, bool, error) {
		a, err := amountFlag("self-stake", selfStake)
		if err != nil {
			return teg.Transfer{}, false, err
		}
		var bps *uint64
		if commission >= 0 {
			v := uint64(commission)
			bps = &v
		}
		return c.CreateValidator(ctx, s.agent, a, bps, idem)
	})
	create.Flags().StringVar(&selfStake, "self-stake", "", "AVT bonded from your liquid balance")
	_ = create.MarkFlagRequired("self-stake")
	create.Flags().Int64Var(&commission, "commission-bps", -1, "commission in basis points, 0–10000 (default: the network's, 1000 = 10 %)")

	// edit and unjail act on a validator: the argument, --agent, or your own.
	target := func(ctx context.Context, args []string) (string, error) {
		if len(args) == 1 {
			return args[0], nil
		}
		return s.self(ctx)
	}
	edit := stakeWrite(s, "edit [ID]", "Change your validator's commission (at most 1 % a day)", func(ctx context.Context, c *tegclient.Client, idem string, args []string) (teg.Transfer, bool, error) {
		id, err := target(ctx, args)
		if err != nil {
			return teg.Transfer{}, false, err
		}
		if editCommission < 0 {
			return teg.Transfer{}, false, fmt.Errorf("--commission-bps %d: must be 0 to 10000", editCommission)
		}
		return c.EditValidator(ctx, id, uint64(editCommission), idem)
	})
	edit.Args = cobra.MaximumNArgs(1)
	edit.Flags().Int64Var(&editCommission, "commission-bps", -1, "the new commission in basis points (100 = 1 %)")
	_ = edit.MarkFlagRequired("commission-bps")
	unjail := stakeWrite(s, "unjail [ID]", "Return your jailed validator to the active set", func(ctx context.Context, c *tegclient.Client, idem string, args []string) (teg.Transfer, bool, error) {
		id, err := target(ctx, args)
		if err != nil {
			return teg.Transfer{}, false, err
		}
		return c.Unjail(ctx, id, idem)
	})
	unjail.Args = cobra.MaximumNArgs(1)

	list := &cobra.Command{
		Use: "list", Short: "List the validators, most stake first", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := s.public()
			if err != nil {
				return err
			}
			vs, err := c.Validators(cmd.Context())
			if err != nil {
				return cliError(err)
			}
			if s.asJSON {
				s.print(cmd, map[string]any{"items": vs}, "")
				return nil
			}
			if len(vs) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "no validators yet")
			}
			for _, v := range vs {
				fmt.Fprintln(cmd.OutOrStdout(), validatorLine(v))
			}
			return nil
		},
	}
	show := &cobra.Command{
		Use: "show ID", Short: "Show one validator", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := s.public()
			if err != nil {
				return err
			}
			v, err := c.Validator(cmd.Context(), args[0])
			if err != nil {
				return cliError(err)
			}
			s.print(cmd, v, validatorLine(v))
			return nil
		},
	}
	c.AddCommand(create, edit, unjail, list, show)
	return c
}

// public is a client for the public reads: with the caller's credential when there is one,
// else anonymous.
func (s *stakeFlags) public() (*tegclient.Client, error) {
	if c, err := s.teg(); err == nil {
		return c, nil
	}
	return tegclient.New(s.registry, tracing.Client(30*time.Second))
}
