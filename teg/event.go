package teg

import (
	"time"

	"github.com/sovereign-stack/sovereign/avt"
)

// Posting is one change to one sub-balance: a credit adds, a debit subtracts.
type Posting struct {
	Account AccountID  `json:"account"`
	Part    Part       `json:"part"`
	Amount  avt.Amount `json:"amount"`
	Debit   bool       `json:"debit,omitempty"`
}

// Event is one entry of the append-only, hash-chained event log: every movement of value is an
// event, written in the same transaction as the balances it changes. Hash is the SHA-256 of the
// previous event's hash and this event's canonical body, so altering, dropping or reordering any
// event breaks every hash after it.
type Event struct {
	Seq        uint64    `json:"seq"`
	Time       time.Time `json:"time"`
	Kind       Kind      `json:"kind"`
	TransferID string    `json:"transfer_id"`
	Postings   []Posting `json:"postings"`
	// Data carries kind-specific facts for auditors; it is covered by Hash. (The fee split is in the
	// postings: the payer's fee debit and the credits to the four system accounts.)
	Data     map[string]string `json:"data,omitempty"`
	PrevHash string            `json:"prev_hash"`
	Hash     string            `json:"hash"`
}

// GenesisHash is the PrevHash of the first event.
const GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// Head is the end of the event log: the last sequence number and hash, and the AVT minted by
// the events up to it (which Params.MaxSupply bounds), and the parameter set in force.
type Head struct {
	Seq    uint64
	Hash   string
	Minted avt.Amount
	// Params is the canonical text (Params.Encode) of the parameter set the last KindParams
	// event made the one in force, or "" while the configured set (version 1) is.
	Params string
}
