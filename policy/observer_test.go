package policy_test

import (
	"sync"
	"testing"

	"github.com/sovereign-stack/sovereign/policy"
)

func TestWithDenialObserver_SeesEveryDenialAndNoAllow(t *testing.T) {
	var (
		mu     sync.Mutex
		denied []policy.Decision
	)
	e, err := policy.NewWithOptions(policy.WithDenialObserver(func(_ policy.Input, d policy.Decision) {
		mu.Lock()
		denied = append(denied, d)
		mu.Unlock()
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	decide(t, e, policy.Input{Subject: devSession, Action: policy.ActionDeveloperRead, Resource: ownAccount}) // allowed
	for range 2 {                                                                                             // the second answer comes from the decision cache, and is counted too
		decide(t, e, policy.Input{Subject: devSession, Action: policy.ActionDeveloperList, Resource: ownAccount})
	}
	if len(denied) != 2 || denied[0].Reason != "not permitted to developer.list" || denied[1].Reason != denied[0].Reason {
		t.Fatalf("denials seen: %+v", denied)
	}
}
