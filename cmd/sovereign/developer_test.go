package main

import (
	"context"
	"strings"
	"testing"
)

func TestDeveloperMakeAdmin(t *testing.T) {
	dir := t.TempDir()
	if _, err := run(t, context.Background(), "developer", "make-admin", "nobody@example.com", "--data", dir); err == nil || !strings.Contains(err.Error(), "DEVELOPER_NOT_FOUND") {
		t.Fatalf("make-admin unknown = %v", err)
	}
	if _, err := run(t, context.Background(), "developer", "make-admin", "not an email", "--data", dir); err == nil {
		t.Fatal("make-admin of a malformed address succeeded")
	}
	out, err := run(t, context.Background(), "developer", "make-admin", "admin@sovereign.test", "--data", dir)
	if err != nil || !strings.Contains(out, "admin@sovereign.test") || !strings.Contains(out, "is now admin") {
		t.Fatalf("make-admin = %q, %v", out, err)
	}
	// The only admin keeps the role.
	if _, err := run(t, context.Background(), "developer", "make-admin", "--revoke", "admin@sovereign.test", "--data", dir); err == nil || !strings.Contains(err.Error(), "LAST_ADMIN") {
		t.Fatalf("make-admin --revoke of the only admin = %v", err)
	}
}
