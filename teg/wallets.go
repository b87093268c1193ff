package teg

import (
	"context"

	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/policy"
)

// Wallets is what the registry needs of the token economy: opening an agent's
// wallet, granting it AVT from the treasury, and reading its balances. The registry holds a
// Wallets and never knows where the ledger runs: ServiceWallets calls the Service in the same
// process (`sovereign up`), tegclient.Client calls a TEG over HTTP with mTLS (split mode).
// Both act as the registry's own identity, so the TEG's policy makes the same decision either
// way.
type Wallets interface {
	// OpenWallet opens agent's wallet. With an idempotency key a retry returns the same
	// account; without one, opening a wallet that exists is 409 ACCOUNT_EXISTS.
	OpenWallet(ctx context.Context, agent AccountID, idemKey string) (Account, error)
	// Grant moves amount from the treasury to an agent's wallet, without fee. replayed
	// reports a retry of an idempotency key answered with the first result.
	Grant(ctx context.Context, to AccountID, amount avt.Amount, message, idemKey string) (t Transfer, replayed bool, err error)
	// Balance reads an agent's wallet.
	Balance(ctx context.Context, agent AccountID) (Account, error)
	// History reads up to limit of an agent's transfers older than the sequence before (0:
	// the newest), newest first.
	History(ctx context.Context, agent AccountID, before uint64, limit int) ([]Transfer, error)
	// SetStatus suspends, revokes or reactivates an agent's wallet (see AccountStatus); setting
	// the status it has changes nothing. A revoked wallet cannot be reactivated
	// (ACCOUNT_REVOKED).
	SetStatus(ctx context.Context, agent AccountID, status AccountStatus, idemKey string) (Account, error)
}

// ServiceWallets is Wallets over a Service in the same process, acting as the subject As (the
// registry's service identity, spiffe://<td>/registry/<name>): every call goes through the
// policy exactly as the HTTP route would.
type ServiceWallets struct {
	Service *Service
	As      policy.Subject
}

var _ Wallets = (*ServiceWallets)(nil)

// OpenWallet implements Wallets.
func (w *ServiceWallets) OpenWallet(ctx context.Context, agent AccountID, idemKey string) (Account, error) {
	return w.Service.OpenAccount(ctx, w.As, agent, idemKey)
}

// Grant implements Wallets.
func (w *ServiceWallets) Grant(ctx context.Context, to AccountID, amount avt.Amount, message, idemKey string) (Transfer, bool, error) {
	return w.Service.Grant(ctx, w.As, to, amount, message, idemKey)
}

// Balance implements Wallets.
func (w *ServiceWallets) Balance(ctx context.Context, agent AccountID) (Account, error) {
	return w.Service.Balance(ctx, w.As, agent)
}

// History implements Wallets.
func (w *ServiceWallets) History(ctx context.Context, agent AccountID, before uint64, limit int) ([]Transfer, error) {
	return w.Service.History(ctx, w.As, agent, before, limit)
}

// SetStatus implements Wallets.
func (w *ServiceWallets) SetStatus(ctx context.Context, agent AccountID, status AccountStatus, idemKey string) (Account, error) {
	return w.Service.SetAccountStatus(ctx, w.As, agent, status, idemKey)
}
