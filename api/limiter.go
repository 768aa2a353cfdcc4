package api

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/frontdesk/frontdesk/ratelimit"
)

// limiter is a set of token buckets keyed by a string (an IP, an e-mail),
// for rate limits such as login attempts. Idle keys are dropped.
type limiter struct {
	mu      sync.Mutex
	rate    float64 // tokens per second
	burst   float64
	buckets map[string]*keyBucket
	now     func() time.Time
	sweep   time.Time
}

type keyBucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(per time.Duration, n int) *limiter {
	return &limiter{rate: float64(n) / per.Seconds(), burst: float64(n), buckets: map[string]*keyBucket{}, now: time.Now}
}

// Allow takes a token for key; when none is left it returns how long to wait.
func (l *limiter) Allow(_ context.Context, key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.sweep) > time.Minute {
		for k, b := range l.buckets {
			if now.Sub(b.last).Seconds()*l.rate >= l.burst {
				delete(l.buckets, k)
			}
		}
		l.sweep = now
	}
	b := l.buckets[key]
	if b == nil {
		b = &keyBucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens += now.Sub(b.last).Seconds() * l.rate
	if b.tokens > l.burst {
		b.tokens = l.burst
	}
	b.last = now
	if b.tokens < 1 {
		return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	}
	b.tokens--
	return true, 0
}

// perIPLimiter returns the limiter of new sessions (factor 1) or sockets
// (factor 2) for a per-minute rate: 0 means 60, negative means none.
func perIPLimiter(shared LimiterFactory, name string, perMinute, factor int) ratelimit.Limiter {
	if perMinute < 0 {
		return nil
	}
	if perMinute == 0 {
		perMinute = 60
	}
	return newKeyLimiter(shared, name, time.Minute, perMinute*factor)
}

// LimiterFactory makes a limiter of n events per window shared by every node
// (Redis); name keeps the limiters apart.
type LimiterFactory func(name string, n int, window time.Duration) ratelimit.Limiter

// newKeyLimiter returns the shared limiter when there is a factory, else an
// in-memory token bucket of this node.
func newKeyLimiter(shared LimiterFactory, name string, window time.Duration, n int) ratelimit.Limiter {
	if shared != nil {
		return shared(name, n, window)
	}
	return newLimiter(window, n)
}

// allowIP takes a token of l for the request's client address and, when
// none is left, answers 429 with Retry-After and returns false.
func allowIP(c *gin.Context, l ratelimit.Limiter, what string) bool {
	if l == nil {
		return true
	}
	ok, wait := l.Allow(c.Request.Context(), c.ClientIP())
	if ok {
		return true
	}
	c.Header("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
	writeError(c, &Error{Status: http.StatusTooManyRequests, Code: "rate_limited", Message: "too many new " + what + " from this address; retry after the Retry-After seconds"})
	return false
}
