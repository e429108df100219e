package audit

import "context"

// withMergedCommits puts, before each merge of the first-parent line, the
// commits it brought in: the ancestors of its other parents that are
// neither on the line nor brought in by an earlier merge, parents before
// children. They are marked side: the walk judges them only to settle
// what the gate wrote there (a gate commit on a push branch merged by a
// pull request), and reports the merge, judged against its first parent,
// instead. A linear history is returned as it is, without reading more.
func withMergedCommits(ctx context.Context, h history, head string, steps []step) ([]step, error) {
	merges := false
	for _, s := range steps {
		merges = merges || len(s.merged) > 0
	}
	if !merges {
		return steps, nil
	}
	parents, err := h.parents(ctx, head)
	if err != nil {
		return nil, err
	}
	done := make(map[string]bool, len(parents))
	for _, s := range steps {
		done[s.commit] = true
	}
	out := make([]step, 0, len(parents))
	for _, s := range steps {
		for _, p := range s.merged {
			out = appendBroughtIn(out, p, parents, done)
		}
		out = append(out, s)
	}
	return out, nil
}

// appendBroughtIn appends c and its ancestors not yet done, each after
// its parents, without recursion (a side branch may be long).
func appendBroughtIn(out []step, c string, parents map[string][]string, done map[string]bool) []step {
	if done[c] {
		return out
	}
	type frame struct {
		commit string
		next   int
	}
	done[c] = true
	stack := []frame{{commit: c}}
	for len(stack) > 0 {
		top := len(stack) - 1
		ps := parents[stack[top].commit]
		if i := stack[top].next; i < len(ps) {
			stack[top].next++
			if p := ps[i]; !done[p] {
				done[p] = true
				stack = append(stack, frame{commit: p})
			}
			continue
		}
		s := step{commit: stack[top].commit, side: true}
		if len(ps) > 0 {
			s.parent = ps[0]
		}
		out = append(out, s)
		stack = stack[:top]
	}
	return out
}
