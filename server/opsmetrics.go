package server

import (
	"context"
	"math/big"
	"regexp"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/identity"
	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/registry/registrysql"
	"github.com/sovereign-stack/sovereign/teg"
)

// Limits of the operational metrics.
const (
	// ActiveAgentWindow is how recent an agent's last heartbeat must be for
	// sovereign_active_agents to count it.
	ActiveAgentWindow = 15 * time.Minute
	// maxDenialRules bounds the distinct rule labels of sovereign_policy_denials_total (a policy
	// loaded from a directory or bundle may word its reasons freely); past it, "other".
	maxDenialRules = 200
	// scrapeTimeout bounds each read a scrape makes of the store.
	scrapeTimeout = 2 * time.Second
)

// opsMetrics are the stack's series beyond the HTTP ones (httpapi.Metrics): ledger activity,
// attestations, disputes, policy denials, SVID rotations and expiry, the database pool, active
// agents. The domain packages know nothing of them: the ledger's writer, the policy engine and
// the attestation service report through callbacks, and gauges read the services' state when
// scraped.
type opsMetrics struct {
	transfers, volume, fees, rewards prometheus.Counter
	attestations                     prometheus.Counter
	disputesOpened, disputesResolved prometheus.Counter
	resolution                       prometheus.Histogram
	denials                          *prometheus.CounterVec
	mu                               sync.Mutex
	rules                            map[string]bool // the denial rule labels in use
}

func newOpsMetrics() *opsMetrics {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	}
	return &opsMetrics{
		transfers: counter("sovereign_ledger_transfers_total", "Transfers committed by this process: plain transfers and posts of pending transfers."),
		volume:    counter("sovereign_ledger_transfer_volume_avt_total", "AVT moved by those transfers."),
		fees:      counter("sovereign_ledger_fees_avt_total", "AVT paid in fees by those transfers."),
		rewards:   counter("sovereign_staking_rewards_paid_avt_total", "Staking rewards paid out of the rewards account, in AVT."),
		attestations: counter("sovereign_attestations_total",
			"Attestations accepted and stored by this process."),
		disputesOpened:   counter("sovereign_disputes_opened_total", "Disputes filed."),
		disputesResolved: counter("sovereign_disputes_resolved_total", "Disputes that reached a final state (closed, withdrawn, rejected, expired)."),
		resolution: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "sovereign_dispute_resolution_seconds",
			Help:    "Time from a dispute's filing to its final state.",
			Buckets: []float64{60, 600, 3600, 6 * 3600, 86400, 2 * 86400, 4 * 86400, 7 * 86400, 14 * 86400, 30 * 86400}}),
		denials: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sovereign_policy_denials_total",
			Help: "Policy decisions that denied, by rule: the denial's code when the policy gives one, else its reason."}, []string{"rule"}),
		rules: map[string]bool{},
	}
}

// ledgerActivity counts what a group the ledger committed did (tegsql.WithObserver).
func (m *opsMetrics) ledgerActivity(a teg.Activity) {
	if a.Transfers > 0 {
		m.transfers.Add(float64(a.Transfers))
		m.volume.Add(avtFloat(a.Volume))
		m.fees.Add(avtFloat(a.Fees))
	}
	if !a.RewardsPaid.IsZero() {
		m.rewards.Add(avtFloat(a.RewardsPaid))
	}
	if a.DisputesOpened > 0 {
		m.disputesOpened.Add(float64(a.DisputesOpened))
	}
	for _, d := range a.Resolutions {
		m.disputesResolved.Inc()
		m.resolution.Observe(d.Seconds())
	}
}

// denied counts a policy denial (policy.WithDenialObserver).
func (m *opsMetrics) denied(_ policy.Input, d policy.Decision) {
	rule := d.Code
	if rule == "" {
		rule = d.Reason
	}
	m.mu.Lock()
	if !m.rules[rule] {
		if len(m.rules) >= maxDenialRules {
			rule = "other"
		}
		m.rules[rule] = true
	}
	m.mu.Unlock()
	m.denials.WithLabelValues(rule).Inc()
}

// avtFloat is a in AVT as a float, for a metric (never for money).
func avtFloat(a avt.Amount) float64 {
	f, _ := new(big.Float).SetInt(a.Big()).Float64()
	return f / 1e18
}

// register adds the series that need no running service, then those of the services this
// server runs (s's fields set by New), to reg.
func (m *opsMetrics) register(reg prometheus.Registerer, s *Server) {
	var cs []prometheus.Collector
	add := func(c ...prometheus.Collector) { cs = append(cs, c...) }
	pool := func(state string, f func() int) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sovereign_db_pool_connections",
			Help:        "Database connections by state: in_use, idle, and the most the pool may open (max; 0: no limit).",
			ConstLabels: prometheus.Labels{"state": state}}, func() float64 { return float64(f()) })
	}
	add(pool("in_use", func() int { return s.db.PoolStats().InUse }),
		pool("idle", func() int { return s.db.PoolStats().Idle }),
		pool("max", func() int { return s.db.PoolStats().Max }),
		m.denials)
	add(hotCacheCollectors(s.hotStats)...)
	if s.db.ReplicaStatus().Configured {
		add(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sovereign_db_replica_lag_seconds",
			Help: "How far the read replica is behind the primary, as last measured (reads bypass it past store_replica_max_lag)."},
			func() float64 { return s.db.ReplicaStatus().Lag.Seconds() }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sovereign_db_replica_healthy",
				Help: "1 while reads go to the read replica, 0 while it is bypassed (too far behind or unreachable)."},
				func() float64 {
					if s.db.ReplicaStatus().Healthy {
						return 1
					}
					return 0
				}),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "sovereign_db_replica_fallbacks_total",
				Help: "Reads the read replica failed that ran again on the primary."},
				func() float64 { return float64(s.db.ReplicaStatus().Fallbacks) }))
	}
	if s.ledger != nil {
		add(m.transfers, m.volume, m.fees, m.rewards, m.disputesOpened, m.disputesResolved, m.resolution,
			balanceGauge(s, "sovereign_treasury_balance_avt", "Liquid AVT in the treasury (read when scraped).", teg.Treasury),
			balanceGauge(s, "sovereign_staking_staked_avt", "AVT bonded in staking, all validators' pools (read when scraped).", teg.Bonded),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "sovereign_teg_balance_ack_delays_total",
				Help: "Ledger groups answered only after the balance cache TTL because their hot accounts could be neither written through nor invalidated (cache unreachable)."},
				func() float64 { return float64(s.ledger.DelayedAcks()) }))
	}
	if s.attestations != nil {
		add(m.attestations)
	}
	if s.role.runsRegistry() {
		add(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sovereign_active_agents",
			Help: "Active agents with a heartbeat in the last 15 minutes (read when scraped)."}, func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
			defer cancel()
			n, err := registrysql.CountActiveAgents(ctx, s.db, time.Now().Add(-ActiveAgentWindow))
			if err != nil {
				return -1
			}
			return float64(n)
		}))
	}
	if c := newSVIDCollector(s.source); c != nil {
		add(c)
	}
	for _, c := range cs {
		reg.MustRegister(c)
	}
}

// balanceGauge reads the liquid balance of a system account when scraped (-1 when the read
// fails; 0 before the account's first movement).
func balanceGauge(s *Server, name, help string, id teg.AccountID) prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
		defer cancel()
		a, err := s.ledger.Account(ctx, id)
		if err != nil {
			if apperr.KindOf(err) == apperr.NotFound {
				return 0
			}
			return -1
		}
		return avtFloat(a.Liquid)
	})
}

// svidCollector exports the rotations of the service's own X.509-SVID (split mode) and the
// time left until it expires.
type svidCollector struct {
	source    identity.SVIDSource
	rotations func() (ok, failed int)
	rotDesc   *prometheus.Desc
	expDesc   *prometheus.Desc
}

// newSVIDCollector watches src: the builtin issuer's IssuerSource counts its rotations and
// failures; for SPIRE's Workload API source a rotation is an update that brings an SVID with a
// new serial number (the agent retries failures itself, so none are seen here). Nil without a
// source (`up` holds no SVID of its own).
func newSVIDCollector(src identity.SVIDSource) *svidCollector {
	c := &svidCollector{source: src,
		rotDesc: prometheus.NewDesc("sovereign_svid_rotations_total", "Rotations of this service's X.509-SVID, by result.", []string{"result"}, nil),
		expDesc: prometheus.NewDesc("sovereign_svid_expiry_seconds", "Seconds until this service's current X.509-SVID expires.", nil, nil)}
	switch s := src.(type) {
	case *identity.IssuerSource:
		c.rotations = func() (int, int) { return s.Rotations(), s.RotationFailures() }
	case *workloadapi.X509Source:
		var n atomic.Int64
		go watchWorkloadRotations(s, &n)
		c.rotations = func() (int, int) { return int(n.Load()), 0 }
	default:
		return nil
	}
	return c
}

// watchWorkloadRotations counts in n the updates of src that bring an SVID with a new serial
// number, until src is closed.
func watchWorkloadRotations(src *workloadapi.X509Source, n *atomic.Int64) {
	serial := func() string {
		if s, err := src.GetX509SVID(); err == nil && len(s.Certificates) > 0 {
			return s.Certificates[0].SerialNumber.String()
		}
		return ""
	}
	last := serial()
	for range src.Updated() {
		if cur := serial(); cur != "" && cur != last {
			last = cur
			n.Add(1)
		}
	}
}

// Describe implements prometheus.Collector.
func (c *svidCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.rotDesc
	ch <- c.expDesc
}

// Collect implements prometheus.Collector.
func (c *svidCollector) Collect(ch chan<- prometheus.Metric) {
	ok, failed := c.rotations()
	ch <- prometheus.MustNewConstMetric(c.rotDesc, prometheus.CounterValue, float64(ok), "success")
	ch <- prometheus.MustNewConstMetric(c.rotDesc, prometheus.CounterValue, float64(failed), "failure")
	var svid *x509svid.SVID
	if s, err := c.source.GetX509SVID(); err == nil {
		svid = s
	}
	if svid != nil && len(svid.Certificates) > 0 {
		ch <- prometheus.MustNewConstMetric(c.expDesc, prometheus.GaugeValue, time.Until(svid.Certificates[0].NotAfter).Seconds())
	}
}

// namedRegistry is a Prometheus registry that remembers the name of every family registered
// with it, series or not yet (Server.MetricNames).
type namedRegistry struct {
	*prometheus.Registry
	mu    sync.Mutex
	names map[string]bool
}

func newNamedRegistry() *namedRegistry {
	return &namedRegistry{Registry: prometheus.NewRegistry(), names: map[string]bool{}}
}

// fqName reads a descriptor's name: client_golang keeps it unexported, and prints it first.
var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

// Register implements prometheus.Registerer, noting c's family names.
func (r *namedRegistry) Register(c prometheus.Collector) error {
	if err := r.Registry.Register(c); err != nil {
		return err
	}
	ch := make(chan *prometheus.Desc)
	go func() {
		c.Describe(ch)
		close(ch)
	}()
	r.mu.Lock()
	defer r.mu.Unlock()
	for d := range ch {
		if m := fqName.FindStringSubmatch(d.String()); m != nil {
			r.names[m[1]] = true
		}
	}
	return nil
}

// MustRegister implements prometheus.Registerer.
func (r *namedRegistry) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

// Names is every family name registered, sorted.
func (r *namedRegistry) Names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.names))
	for n := range r.names {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
