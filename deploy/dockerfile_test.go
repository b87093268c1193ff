package deploy

import (
	"regexp"
	"strings"
	"testing"
)

// dockerInstructions returns the instructions of a Dockerfile, continuation lines joined and
// comments dropped.
func dockerInstructions(src string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(src, "\n") {
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(trimmed)
		out = append(out, cur.String())
		cur.Reset()
	}
	return out
}

func TestDockerfile_StaticNonRootMultiStage(t *testing.T) {
	ins := dockerInstructions(string(readFile(t, "Dockerfile")))
	var froms []string
	var build, user string
	for _, in := range ins {
		op, rest, _ := strings.Cut(in, " ")
		switch strings.ToUpper(op) {
		case "FROM":
			froms = append(froms, rest)
		case "RUN":
			if strings.Contains(rest, "go build") {
				build = rest
			}
		case "USER":
			user = rest
		case "ARG", "WORKDIR", "COPY", "ENV", "EXPOSE", "VOLUME", "ENTRYPOINT", "CMD", "LABEL":
		default:
			t.Errorf("unexpected instruction %q", in)
		}
	}
	if len(froms) < 2 || !strings.HasPrefix(froms[0], "golang:") {
		t.Errorf("want a golang builder stage and a final stage, got FROM %v", froms)
	}
	final := froms[len(froms)-1]
	if !strings.HasPrefix(final, "gcr.io/distroless/static") && final != "scratch" {
		t.Errorf("final stage %q is neither distroless static nor scratch", final)
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "./cmd/sovereign"} {
		if !strings.Contains(build, want) {
			t.Errorf("the go build step lacks %s: %q", want, build)
		}
	}
	if !regexp.MustCompile(`^[1-9][0-9]*(:[1-9][0-9]*)?$`).MatchString(user) {
		t.Errorf("USER %q must be a numeric non-root user (Kubernetes' runAsNonRoot checks the number)", user)
	}
}
