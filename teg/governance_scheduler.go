package teg

import (
	"context"
	"fmt"

	"github.com/sovereign-stack/sovereign/apperr"
)

// govQueueBatch is how many due proposals one RunGovernance closes, and executes, at most.
const govQueueBatch = 256

// RunGovernance closes every proposal whose voting period has ended and executes every passed
// proposal whose timelock has ended, and says how many of each this call applied (a command
// another replica applied first is replayed, and not counted). Like RunDue it keeps no state: the
// queues are ledger state and the commands' ids are fixed by what they do ("gov-close:N",
// "gov-exec:N"), so after downtime it catches up, and any number of replicas close and execute
// each proposal exactly once.
//
// A passed proposal the ledger refuses to execute yet (a spend the treasury cannot pay, a change
// the parameters in force no longer admit) stays queued and is tried again at the next run;
// its error is in failed, by proposal.
func (s *Scheduler) RunGovernance(ctx context.Context) (closed, executed int, failed map[uint64]error, err error) {
	now := s.now().UnixMicro()
	due := func(prefix string) ([]uint64, error) {
		queue, err := s.Store.ScanState(ctx, prefix, govQueueBatch)
		if err != nil {
			return nil, err
		}
		var out []uint64
		for _, e := range queue {
			at, id, err := QueueDue(prefix, e.Key)
			if err != nil {
				return nil, err
			}
			if at > now {
				break
			}
			out = append(out, id)
		}
		return out, nil
	}
	ends, err := due(GovEndQueuePrefix)
	if err != nil {
		return 0, 0, nil, err
	}
	if len(ends) > 0 {
		cmds := make([]Command, len(ends))
		for i, id := range ends {
			cmds[i] = Command{Kind: KindGovClose, ID: fmt.Sprintf("gov-close:%d", id), Gov: &GovArgs{Proposal: id}}
		}
		res, err := s.Store.Submit(ctx, cmds, false)
		if err != nil {
			return 0, 0, nil, err
		}
		for _, r := range res {
			switch code := apperr.CodeOf(r.Err); {
			case r.Err == nil:
				if !r.Replayed {
					closed++
				}
			case code == ErrProposalClosed.Code || code == ErrVotingNotEnded.Code:
				// Another replica closed it between the scan and the submit; or the clocks differ.
			default:
				return closed, 0, nil, r.Err
			}
		}
	}
	execs, err := due(GovExecQueuePrefix)
	if err != nil {
		return closed, 0, nil, err
	}
	for _, id := range execs {
		text, ok, err := s.Store.State(ctx, ProposalKey(id))
		if err != nil {
			return closed, executed, failed, err
		}
		if !ok {
			continue
		}
		p, err := DecodeProposal(text)
		if err != nil {
			return closed, executed, failed, err
		}
		res, err := s.Store.Submit(ctx, []Command{ExecutionCommand(p, fmt.Sprintf("gov-exec:%d", id))}, false)
		if err != nil {
			return closed, executed, failed, err
		}
		switch code := apperr.CodeOf(res[0].Err); {
		case res[0].Err == nil:
			if !res[0].Replayed {
				executed++
			}
		case code == ErrAlreadyExecuted.Code || code == ErrTimelock.Code:
		default:
			if apperr.KindOf(res[0].Err) == apperr.Internal {
				return closed, executed, failed, res[0].Err
			}
			if failed == nil {
				failed = map[uint64]error{}
			}
			failed[id] = res[0].Err
		}
	}
	return closed, executed, failed, nil
}
