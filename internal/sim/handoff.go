package sim

import "context"

// Send hands v to the receiver of ch, waiting while ch is full. It returns
// false, without sending, if ctx is done first.
func Send[T any](ctx context.Context, ch chan<- T, v T) bool {
	select {
	case ch <- v:
		return true
	case <-ctx.Done():
		return false
	}
}

// Recv takes the next value from ch, waiting while ch is empty. It returns
// false if ch is closed and drained, or if ctx is done first.
func Recv[T any](ctx context.Context, ch <-chan T) (T, bool) {
	select {
	case v, ok := <-ch:
		return v, ok
	case <-ctx.Done():
		var zero T
		return zero, false
	}
}
