// Package deploy holds the deployment files of the Sovereign Stack — the container image
// (Dockerfile), the compose stack, the Kubernetes manifests, the Prometheus rules and the
// Grafana dashboards — and the tests that parse each of them strictly.
package deploy
