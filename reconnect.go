package appws

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// The supervisor: one goroutine per client owns the cycle
// connect -> log in -> serve -> on loss report Disconnected -> wait -> again.
// Nothing else starts a connection, so there is never more than one.

// jitter is the backoff's randomization factor: each delay is the current
// interval ±25 %. With a multiplier of 2 two successive ranges never overlap,
// so delays grow until the cap.
const jitter = 0.25

// newBackoff returns the reconnect backoff: every delay lies in
// [MinBackoff, MaxBackoff], the first one included, and it never gives up.
func newBackoff(o *Options) backoff.BackOff {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = time.Duration(float64(o.MinBackoff) / (1 - jitter))
	b.MaxInterval = time.Duration(float64(o.MaxBackoff) / (1 + jitter))
	if b.MaxInterval < b.InitialInterval {
		b.MaxInterval = b.InitialInterval
	}
	b.RandomizationFactor = jitter
	b.Multiplier = 2
	b.MaxElapsedTime = 0 // never stop: the default would stop after 15 minutes
	b.Reset()
	return &clamped{b: b, min: o.MinBackoff, max: o.MaxBackoff}
}

// clamped keeps rounding from pushing a delay outside [min, max].
type clamped struct {
	b        *backoff.ExponentialBackOff
	min, max time.Duration
}

func (c *clamped) NextBackOff() time.Duration {
	return min(max(c.b.NextBackOff(), c.min), c.max)
}

func (c *clamped) Reset() { c.b.Reset() }

// authDone returns the Authenticator's Done channel, if it has one.
func (c *Client) authDone() <-chan struct{} {
	if d, ok := c.opts.Authenticator.(interface{ Done() <-chan struct{} }); ok {
		return d.Done()
	}
	return nil
}

// firstLogin is Dial's part: connect until a login succeeds, retrying
// transient failures with AutoReconnect until ctx ends.
func (c *Client) firstLogin(ctx context.Context) (*session, int, error) {
	bo := newBackoff(&c.opts)
	for attempt := 1; ; attempt++ {
		s, err := c.connect(ctx, 1)
		if err == nil {
			c.log.Info("appws: connected", "url", redactURL(c.opts.URL), "session", s.id, "domain", s.domain)
			return s, attempt, nil
		}
		c.log.Warn("appws: connect failed", "attempt", attempt, "err", err.Error())
		if !c.opts.AutoReconnect || isPermanent(err) || ctx.Err() != nil {
			return nil, attempt, err
		}
		delay := bo.NextBackOff()
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, attempt, fmt.Errorf("appws: dial: %w; last error: %w", ctx.Err(), err)
		case <-c.authDone():
			t.Stop()
			return nil, attempt, ErrAuthenticatorClosed
		}
	}
}

// supervise serves the session Dial established and every later one, until
// Close or a failure that ends the client. It never waits for the consumer:
// the emitter queues whatever it reports.
func (c *Client) supervise(s *session) {
	defer close(c.done)
	bo := newBackoff(&c.opts)
	for {
		up := time.Now()
		err := s.serve(c.closing, c.authDone())
		c.mu.Lock()
		c.cur = nil
		c.mu.Unlock()
		c.em.endSession()

		switch {
		case c.isClosing():
			c.end(nil)
			return
		case !c.opts.AutoReconnect || errors.Is(err, ErrAuthenticatorClosed):
			c.end(err)
			return
		}
		c.log.Warn("appws: disconnected", "session", s.id, "err", err.Error())
		if time.Since(up) >= c.opts.StableAfter {
			bo.Reset()
		}
		next, attempts, err := c.reconnect(bo, s.id, err)
		if err != nil || next == nil { // nil, nil: closed while reconnecting
			c.end(err)
			return
		}
		c.log.Info("appws: reconnected", "session", next.id, "domain", next.domain, "attempts", attempts)
		c.stats.reconnects.Add(1)
		c.startSession(next, attempts)
		s = next
	}
}

// reconnect reports the loss of session last and tries again until a login
// succeeds (the new session), Close is called (nil, nil) or the
// Authenticator is closed (its error). Every other failure is retried with
// the backoff, a rejected login and an HTTP 401/403/404 included: a PBX that
// restarts or updates refuses for a while, and innovaphone's own clients
// ride that out.
func (c *Client) reconnect(bo backoff.BackOff, last uint64, cause error) (*session, int, error) {
	for attempt := 1; ; attempt++ {
		delay := bo.NextBackOff()
		c.em.pushLife(Disconnected{Session: last, Err: cause, RetryIn: delay, Attempt: attempt})
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-c.closing:
			t.Stop()
			return nil, attempt, nil
		case <-c.authDone():
			t.Stop()
			return nil, attempt, ErrAuthenticatorClosed
		}
		s, err := c.connect(c.ctx, last+1)
		switch {
		case c.isClosing():
			if s != nil {
				s.abandon()
			}
			return nil, attempt, nil
		case err == nil:
			return s, attempt, nil
		case errors.Is(err, ErrAuthenticatorClosed):
			return nil, attempt, err
		}
		c.log.Warn("appws: reconnect failed", "attempt", attempt, "err", err.Error())
		cause = err
	}
}
