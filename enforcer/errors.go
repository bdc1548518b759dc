package enforcer

import (
	"errors"
	"fmt"
)

// The kinds of error the engine's operations return; test with errors.Is.
// The API server maps them to HTTP statuses; every message is meant for
// the person who asked and says what to do where there is something to do.
var (
	// ErrNotFound: no such request (or not one the caller may see: a user
	// is not told that another user's request exists).
	ErrNotFound = errors.New("not found")
	// ErrForbidden: the caller may not do this.
	ErrForbidden = errors.New("forbidden")
	// ErrInvalid: the question is malformed or out of range.
	ErrInvalid = errors.New("invalid")
	// ErrConflict: the request is not in a state that allows this (it was
	// answered, decided or closed meanwhile).
	ErrConflict = errors.New("conflict")
)

// Error is an engine error of one of the kinds above. Its message is the
// text alone, without the kind.
type Error struct {
	Kind error
	Msg  string
}

func (e *Error) Error() string        { return e.Msg }
func (e *Error) Is(target error) bool { return target == e.Kind }

func newError(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) error  { return newError(ErrNotFound, format, args...) }
func forbidden(format string, args ...any) error { return newError(ErrForbidden, format, args...) }
func invalid(format string, args ...any) error   { return newError(ErrInvalid, format, args...) }
func conflict(format string, args ...any) error  { return newError(ErrConflict, format, args...) }
