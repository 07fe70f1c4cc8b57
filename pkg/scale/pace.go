package scale

import "time"

// maxBackoff is how many poll intervals apart reads may grow while they keep failing.
const maxBackoff = 8

// pace spaces a loop's reads: the poll interval while they succeed, twice the last interval
// after each failure, up to maxBackoff intervals. An API server that refuses or times out is
// asked less the longer it does, and at once at the poll interval again when it answers.
type pace struct {
	poll, last time.Duration
}

// next is how long to wait before the next read, given whether the last one failed.
func (p *pace) next(failed bool) time.Duration {
	if !failed {
		p.last = p.poll
		return p.poll
	}
	p.last = min(2*max(p.last, p.poll), maxBackoff*p.poll)
	return p.last
}
