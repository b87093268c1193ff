// Package teg is the domain of the token economy graph: the AVT ledger (accounts, transfers,
// linked batches, two-phase transfers, mint, burn, grants, fees), its hash-chained event log, and
// — as later issues land — staking, reputation, attestations, disputes and governance.
//
// The ledger is a deterministic state machine: Ledger.Apply takes commands and the current state
// (through the Reader interface) and returns the changes to write — new and updated accounts and
// transfers, and the events that record every movement — without doing any I/O itself. An adapter
// (tegsql) reads the state and writes the changes in one transaction; being pure, the machine is
// tested exhaustively by property tests. It imports neither net/http nor database/sql.
package teg

import "time"

// The ledger's limits, in one place (TigerBeetle's TIGER_STYLE: put a limit on everything).
const (
	// MaxBatch is the most commands one batch may carry.
	MaxBatch = 8190
	// MaxMessageBytes bounds a transfer's optional message.
	MaxMessageBytes = 256
	// MaxIDLen bounds client-chosen transfer ids.
	MaxIDLen = 128
	// MinPendingTimeout and MaxPendingTimeout bound how long a pending transfer may hold funds.
	MinPendingTimeout = time.Second
	MaxPendingTimeout = 30 * 24 * time.Hour
	// DefaultPendingTimeout applies when a pending transfer names none.
	DefaultPendingTimeout = time.Hour
)
