package a2a_test

import (
	"testing"

	"github.com/sovereign-stack/sovereign/a2a"
	"github.com/sovereign-stack/sovereign/a2a/a2atest"
)

func TestMemoryTaskStore_Conformance(t *testing.T) {
	a2atest.TaskStore(t, func(*testing.T) a2a.TaskStore { return a2a.NewMemoryTaskStore() })
}
