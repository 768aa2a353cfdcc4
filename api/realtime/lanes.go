package realtime

import (
	"hash/fnv"
	"sync"
)

// agentLanes is how many of one agent connection's conversations may have a
// message being stored at once.
const agentLanes = 8

// laneDepth is how many jobs wait per lane before the read loop blocks
// (and TCP pushes back on the client).
const laneDepth = 16

// lanes runs jobs concurrently across keys and in order within a key. One
// agent socket carries many conversations; storing a message waits for the
// store's group commit, so handling its frames one after another would let
// one agent reply in one conversation per commit. Jobs of one conversation
// share a lane and keep their order. Lane goroutines start on first use.
// do and close are called from one goroutine (the read loop).
type lanes struct {
	chs []chan func()
	wg  sync.WaitGroup
}

func newLanes(n int) *lanes { return &lanes{chs: make([]chan func(), n)} }

// do queues job on key's lane, waiting while that lane is full.
func (l *lanes) do(key string, job func()) {
	h := fnv.New32a()
	h.Write([]byte(key))
	i := int(h.Sum32() % uint32(len(l.chs)))
	if l.chs[i] == nil {
		ch := make(chan func(), laneDepth)
		l.chs[i] = ch
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for job := range ch {
				job()
			}
		}()
	}
	l.chs[i] <- job
}

// close lets the lanes finish their queued jobs and waits for them.
func (l *lanes) close() {
	for _, ch := range l.chs {
		if ch != nil {
			close(ch)
		}
	}
	l.wg.Wait()
}
