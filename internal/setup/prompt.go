package setup

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ErrNoAnswer is returned when the input ends before a question was
// answered, such as a pipe that holds fewer answers than questions.
var ErrNoAnswer = errors.New("the input ended before every question was answered")

// ErrInterrupted is returned when the wait for an answer was cancelled.
var ErrInterrupted = errors.New("interrupted")

// Prompt asks questions on out and reads one answer per line from in.
// A wrong answer is explained and the question asked again, so answers
// piped in by a script take the same path as typed ones.
type Prompt struct {
	in  *bufio.Reader
	out io.Writer
	// secret reads a line without echoing it (a terminal); nil reads it
	// like any other answer.
	secret func() (string, error)
	// Echo repeats each answer read, so the transcript of piped answers
	// reads like a typed session.
	Echo bool
	// done ends a wait for an answer (Ctrl+C), see Wizard.Run.
	done <-chan struct{}
}

// NewPrompt reads answers from in and writes questions to out. secret,
// when not nil, reads passwords without echo.
func NewPrompt(in io.Reader, out io.Writer, secret func() (string, error)) *Prompt {
	return &Prompt{in: bufio.NewReader(in), out: out, secret: secret}
}

// Reader is the buffered input, for a step (a login flow) that reads the
// next lines itself: it must not lose what the prompt has buffered.
func (p *Prompt) Reader() io.Reader { return p.in }

// Say prints a line.
func (p *Prompt) Say(format string, args ...any) {
	fmt.Fprintf(p.out, format+"\n", args...)
}

func (p *Prompt) line() (string, error) {
	type answer struct {
		s   string
		err error
	}
	got := make(chan answer, 1)
	go func() {
		s, err := p.in.ReadString('\n')
		got <- answer{s, err}
	}()
	var s string
	var err error
	select {
	case a := <-got:
		s, err = a.s, a.err
	case <-p.done:
		// The read stays blocked; nothing reads the input after this.
		return "", ErrInterrupted
	}
	if err != nil && (s == "" || !errors.Is(err, io.EOF)) {
		if errors.Is(err, io.EOF) {
			return "", ErrNoAnswer
		}
		return "", fmt.Errorf("read the answer: %w", err)
	}
	return strings.TrimSpace(s), nil
}

// Ask asks q until check accepts the answer, and returns what check made
// of it. An empty answer stands for def when def is not empty. check's
// error is shown as the reason the answer was not taken.
func (p *Prompt) Ask(q, def string, check func(string) (string, error)) (string, error) {
	for {
		if def != "" {
			fmt.Fprintf(p.out, "%s [%s]: ", q, def)
		} else {
			fmt.Fprintf(p.out, "%s: ", q)
		}
		a, err := p.line()
		if err != nil {
			fmt.Fprintln(p.out)
			return "", fmt.Errorf("%w (at %q)", err, q)
		}
		if p.Echo {
			fmt.Fprintln(p.out, a)
		}
		if a == "" {
			a = def
		}
		if check == nil {
			return a, nil
		}
		v, err := check(a)
		if err == nil {
			return v, nil
		}
		fmt.Fprintf(p.out, "  %v\n", err)
	}
}

// AskSecret is Ask for a password: not echoed on a terminal, never shown
// back, and not empty.
func (p *Prompt) AskSecret(q string) (string, error) {
	if p.secret == nil {
		return p.Ask(q, "", nonEmpty)
	}
	for {
		fmt.Fprintf(p.out, "%s (not shown as you type): ", q)
		s, err := p.secret()
		fmt.Fprintln(p.out)
		if err != nil {
			return "", fmt.Errorf("read the answer: %w", err)
		}
		if s = strings.TrimSpace(s); s != "" {
			return s, nil
		}
		fmt.Fprintln(p.out, "  please type it (it is needed to send the alerts)")
	}
}

// YesNo asks a yes/no question; def is the answer to an empty line.
func (p *Prompt) YesNo(q string, def bool) (bool, error) {
	d := "y/N"
	if def {
		d = "Y/n"
	}
	a, err := p.Ask(q+" ("+d+")", "", func(s string) (string, error) {
		switch strings.ToLower(s) {
		case "":
			if def {
				return "y", nil
			}
			return "n", nil
		case "y", "yes", "j", "ja", "o", "oui", "s", "si", "sí":
			return "y", nil
		case "n", "no", "nein", "non":
			return "n", nil
		}
		return "", fmt.Errorf("answer y (yes) or n (no)")
	})
	return a == "y", err
}

// Choose asks q, lists options and reads one by number (1-based); it
// returns its index. An empty answer picks def (-1: it must be given).
func (p *Prompt) Choose(q string, options []string, def int) (int, error) {
	fmt.Fprintln(p.out, q)
	for i, o := range options {
		fmt.Fprintf(p.out, "  %d) %s\n", i+1, o)
	}
	ds := ""
	if def >= 0 {
		ds = fmt.Sprint(def + 1)
	}
	a, err := p.Ask("Number", ds, func(s string) (string, error) {
		if n, err := strconv.Atoi(s); err != nil || n < 1 || n > len(options) {
			return "", fmt.Errorf("answer with a number from 1 to %d", len(options))
		}
		return s, nil
	})
	if err != nil {
		return 0, err
	}
	n, _ := strconv.Atoi(a) // checked above
	return n - 1, nil
}

func nonEmpty(s string) (string, error) {
	if s == "" {
		return "", errors.New("please give an answer")
	}
	return s, nil
}
