package appws

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/appwebsocket/appws/internal/urltext"
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

// firstLogin is Dial's part: log in to session 1, retrying transient
// failures with AutoReconnect until ctx ends.
func (c *Client) firstLogin(ctx context.Context) (*session, int, error) {
	s, attempts, err := c.loginLoop(ctx, newBackoff(&c.opts), 0, nil)
	if err == nil {
		c.log.Info("appws: connected", "url", urltext.Redacted(c.opts.URL), "session", s.id, "domain", s.domain)
	}
	return s, attempts, err
}

// ctxEndedError is Dial's error when its ctx ended while it waited to try
// again: the ctx's error, in the step of the attempt that failed last.
func ctxEndedError(ctxErr, last error) error {
	step := "dial"
	var ce *ConnectError
	if errors.As(last, &ce) {
		step = ce.Step
	}
	return &ConnectError{Step: step, Err: fmt.Errorf("%w while waiting to retry; the last attempt failed: %w", ctxErr, last)}
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
		c.setSession(nil, 0)
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
		c.setSession(next, attempts)
		s = next
	}
}

// reconnect reports the loss of session last and logs in to the next one:
// see loginLoop.
func (c *Client) reconnect(bo backoff.BackOff, last uint64, cause error) (*session, int, error) {
	return c.loginLoop(c.ctx, bo, last, cause)
}

// loginLoop is the one retry loop, for the first login (last == 0) and for
// every reconnect: connect and log in until it works, backing off between
// attempts. It returns the new session and how many attempts it took.
//
//   - The first login (Dial) tries at once, and gives up when ctx ends, on
//     any failure without AutoReconnect, and on a permanent one (a rejected
//     login, HTTP 4xx, an untrusted certificate): a wrong password must not
//     retry for ever.
//   - A reconnect reports each failure as Disconnected (the loss of session
//     last first, with cause) and waits its backoff before each attempt. It
//     retries every failure, a rejected login and HTTP 401/403/404
//     included: a PBX that restarts or updates refuses for a while. ctx
//     ending (Close) returns nil, nil.
//
// Both end with ErrAuthenticatorClosed when the Authenticator closes.
func (c *Client) loginLoop(ctx context.Context, bo backoff.BackOff, last uint64, cause error) (*session, int, error) {
	reconnecting := last > 0
	for attempt := 1; ; attempt++ {
		if reconnecting || attempt > 1 {
			delay := bo.NextBackOff()
			if reconnecting {
				c.em.pushLife(Disconnected{Session: last, Err: cause, RetryIn: delay, Attempt: attempt - 1})
			}
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				if reconnecting {
					return nil, attempt, nil
				}
				return nil, attempt, ctxEndedError(ctx.Err(), cause)
			case <-c.authDone():
				t.Stop()
				return nil, attempt, ErrAuthenticatorClosed
			}
		}
		s, err := c.connect(ctx, last+1)
		switch {
		case reconnecting && ctx.Err() != nil: // closed meanwhile
			if s != nil {
				s.abandon()
			}
			return nil, attempt, nil
		case err == nil:
			return s, attempt, nil
		case errors.Is(err, ErrAuthenticatorClosed):
			return nil, attempt, err
		}
		c.stats.connectFailures.Add(1)
		c.log.Warn("appws: connect failed", "session", last+1, "attempt", attempt, "err", err.Error())
		if !reconnecting && (!c.opts.AutoReconnect || isPermanent(err) || ctx.Err() != nil) {
			return nil, attempt, err
		}
		cause = err
	}
}
