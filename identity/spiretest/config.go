package spiretest

import (
	"bytes"
	"strconv"
	"text/template"
	"time"
)

// ServerParams are the settings of a spire-server configuration (ServerConfig).
type ServerParams struct {
	TrustDomain string        // trust_domain, e.g. "sovereign.test"
	BindPort    int           // the agent-facing API port on 127.0.0.1
	SocketPath  string        // socket_path: the Server API (admin) unix socket
	DataDir     string        // data_dir; the sqlite datastore is datastore.sqlite3 in it
	CATTL       time.Duration // ca_ttl: lifetime of SPIRE's signing CA and JWT key
	X509SVIDTTL time.Duration // default_x509_svid_ttl
	JWTSVIDTTL  time.Duration // default_jwt_svid_ttl
	LogLevel    string        // log_level: DEBUG, INFO, WARN, ERROR
}

// AgentParams are the settings of a spire-agent configuration (AgentConfig).
type AgentParams struct {
	TrustDomain     string        // trust_domain
	ServerPort      int           // the server's BindPort on 127.0.0.1
	SocketPath      string        // socket_path: the Workload API unix socket
	DataDir         string        // data_dir
	TrustBundlePath string        // trust_bundle_path: the server's bundle (spire-server bundle show)
	SyncInterval    time.Duration // experimental.sync_interval: how often the agent syncs entries and renews SVIDs; 0 keeps SPIRE's 5s
	LogLevel        string        // log_level
}

// serverTemplate is a single-node spire-server: the sqlite3 datastore, join-token node
// attestation, in-memory keys and a self-signed CA (no UpstreamAuthority).
var serverTemplate = template.Must(template.New("server").Funcs(funcs).Parse(`server {
    bind_address = "127.0.0.1"
    bind_port = "{{.BindPort}}"
    socket_path = "{{.SocketPath}}"
    trust_domain = "{{.TrustDomain}}"
    data_dir = "{{.DataDir}}"
    log_level = "{{.LogLevel}}"
    ca_key_type = "ec-p256"
    ca_ttl = "{{dur .CATTL}}"
    default_x509_svid_ttl = "{{dur .X509SVIDTTL}}"
    default_jwt_svid_ttl = "{{dur .JWTSVIDTTL}}"
}

plugins {
    DataStore "sql" {
        plugin_data {
            database_type = "sqlite3"
            connection_string = "{{.DataDir}}/datastore.sqlite3"
        }
    }

    NodeAttestor "join_token" {
        plugin_data {}
    }

    KeyManager "memory" {
        plugin_data {}
    }
}
`))

// agentTemplate is a spire-agent that attests with a join token (given on the command line,
// -joinToken) and identifies workloads by their unix uid/gid (the unix workload attestor).
var agentTemplate = template.Must(template.New("agent").Funcs(funcs).Parse(`agent {
    data_dir = "{{.DataDir}}"
    log_level = "{{.LogLevel}}"
    server_address = "127.0.0.1"
    server_port = "{{.ServerPort}}"
    socket_path = "{{.SocketPath}}"
    trust_bundle_path = "{{.TrustBundlePath}}"
    trust_domain = "{{.TrustDomain}}"
{{- if .SyncInterval}}

    experimental {
        sync_interval = "{{dur .SyncInterval}}"
    }
{{- end}}
}

plugins {
    NodeAttestor "join_token" {
        plugin_data {}
    }

    KeyManager "memory" {
        plugin_data {}
    }

    WorkloadAttestor "unix" {
        plugin_data {}
    }
}
`))

var funcs = template.FuncMap{"dur": formatDuration}

// formatDuration writes d as Go's time.ParseDuration reads it, without zero units ("1h", not
// "1h0m0s").
func formatDuration(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	}
	return d.String()
}

// ServerConfig renders a spire-server configuration (HCL) for p.
func ServerConfig(p ServerParams) string { return render(serverTemplate, p) }

// AgentConfig renders a spire-agent configuration (HCL) for p.
func AgentConfig(p AgentParams) string { return render(agentTemplate, p) }

func render(t *template.Template, data any) string {
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		panic(err) // the templates are fixed and their data plain values
	}
	return b.String()
}
