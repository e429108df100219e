package gate

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"
)

// maxMessageBytes bounds what a commit message template may render, and
// so what the functions that build one string (repeat) may return. The
// ImageGate's author writes the template and the controller runs it for
// every tenant: without a bound, {{ repeat 1000000000 "x" }} is a gigabyte
// of the controller's memory. A commit message has no use for more.
const maxMessageBytes = 64 << 10

// maxTemplateList bounds the lists until, untilStep and seq make per call,
// for the same reason: {{ until 1000000000 }} is 8 GB before the first
// iteration.
const maxTemplateList = 10000

var errMessageTooLong = fmt.Errorf("the rendered message is longer than %d bytes; shorten the template's output", maxMessageBytes)

// templateFuncs is Flux's function set, Sprig's hermetic text functions
// (no env, expandenv, random values, clock dates or DNS lookups), with
// the list and string builders bounded. Within the bounds every function
// returns what Sprig returns.
var templateFuncs = boundedFuncs(sprig.HermeticTxtFuncMap())

func boundedFuncs(f template.FuncMap) template.FuncMap {
	if repeat, ok := f["repeat"].(func(int, string) string); ok {
		f["repeat"] = func(count int, s string) (string, error) {
			if count > 0 && len(s) > 0 && count > maxMessageBytes/len(s) {
				return "", fmt.Errorf("repeat: %d copies of %d bytes exceed %d bytes", count, len(s), maxMessageBytes)
			}
			return repeat(count, s), nil
		}
	}
	if until, ok := f["until"].(func(int) []int); ok {
		f["until"] = func(count int) ([]int, error) {
			if err := checkList("until", span(0, count, 1)); err != nil {
				return nil, err
			}
			return until(count), nil
		}
	}
	if untilStep, ok := f["untilStep"].(func(int, int, int) []int); ok {
		f["untilStep"] = func(start, stop, step int) ([]int, error) {
			if err := checkList("untilStep", span(start, stop, step)); err != nil {
				return nil, err
			}
			return untilStep(start, stop, step), nil
		}
	}
	if seq, ok := f["seq"].(func(...int) string); ok {
		f["seq"] = func(params ...int) (string, error) {
			if err := checkList("seq", seqSpan(params)); err != nil {
				return "", err
			}
			return seq(params...), nil
		}
	}
	return f
}

func checkList(fn string, n uint64) error {
	if n > maxTemplateList {
		return fmt.Errorf("%s: %d elements exceed %d", fn, n, maxTemplateList)
	}
	return nil
}

// span is the number of elements from start towards stop (excluded) by
// step, computed without overflow; a step of 0 makes none. It counts as
// if step pointed the right way, which only overcounts.
func span(start, stop, step int) uint64 {
	if step == 0 {
		return 0
	}
	// Two's complement: the unsigned difference of the converted values
	// is the distance between them, whatever their signs.
	d := uint64(stop) - uint64(start) //nolint:gosec // wraps on purpose, see above
	if stop < start {
		d = uint64(start) - uint64(stop) //nolint:gosec // as above
	}
	s := uint64(step) //nolint:gosec // negated below when negative, which wraps to |step|
	if step < 0 {
		s = -s
	}
	n := d / s
	if d%s != 0 {
		n++
	}
	return n
}

// seqSpan bounds seq's output as Sprig reads its arguments: END,
// START END, or START STEP END, END included.
func seqSpan(p []int) uint64 {
	var n uint64
	switch len(p) {
	case 1:
		n = span(1, p[0], 1)
	case 2:
		n = span(p[0], p[1], 1)
	case 3:
		n = span(p[0], p[2], p[1])
	default:
		return 0
	}
	if n < math.MaxUint64 {
		n++
	}
	return n
}

// cappedBuffer fails a write that would take it past max bytes, which
// stops the template where it is.
type cappedBuffer struct {
	bytes.Buffer
	max int
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	if c.Len()+len(p) > c.max {
		return 0, errMessageTooLong
	}
	return c.Buffer.Write(p)
}

// templateHint adds the replacement to the error of a template that uses
// data image-automation-controller v1 removed, as Flux's own error does.
func templateHint(err error) error {
	var ee template.ExecError
	if !errors.As(err, &ee) {
		return err
	}
	switch msg := ee.Error(); {
	case strings.Contains(msg, "can't evaluate field Updated"):
		return fmt.Errorf("%w (.Updated was removed in image-automation-controller v1: use .Changed)", err)
	case strings.Contains(msg, "can't evaluate field ImageResult"):
		return fmt.Errorf("%w (.Changed.ImageResult was removed in image-automation-controller v1: use .Changed.FileChanges or .Changed.Objects)", err)
	}
	return err
}
