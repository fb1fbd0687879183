package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// Load reads the file at path, then parses, fills in defaults and validates
// it like Parse. All problems come back at once, joined with errors.Join;
// each is an *Error naming the line and key.
func Load(path string) (*Config, error) {
	return load(path, true)
}

// LoadReadOnly is Load for the commands that only read the queue or a
// destination (status, ls, restore, verify, retry, …): a watched folder
// that is missing or unreadable (the disaster they are run in) is not an
// error; CheckFolders reports it, for a warning.
func LoadReadOnly(path string) (*Config, error) {
	return load(path, false)
}

// CheckFolders reports watched folders that are missing, unreadable or not
// folders, one *Error each naming the line, as Load would.
func (c *Config) CheckFolders() error {
	p := newProblems(label(c.File), c.lines)
	c.validateFolders(p)
	return errors.Join(p.sorted()...)
}

func load(path string, folders bool) (*Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &Error{File: path, Msg: "does not exist", Hint: "run `offsite init` to write one, or pass -c FILE"}
	}
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, &Error{File: path, Msg: fmt.Sprintf("cannot be read: %v", err),
			Hint: "check that the service's account may read it"}
	}
	c, err := parseWith(data, path, os.LookupEnv, folders)
	if perr := checkConfigFile(path); perr != nil {
		return nil, errors.Join(perr, err)
	}
	return c, err
}

// Parse decodes data, expands ${VARS} from the environment, fills in
// defaults, makes paths absolute and validates. file names the data in
// errors and anchors relative paths (state_dir, watch and local destination
// paths) to its folder; it need not exist. Validation looks at the disk:
// watch paths must be existing folders.
func Parse(data []byte, file string) (*Config, error) {
	return parse(data, file, os.LookupEnv)
}

func parse(data []byte, file string, lookup func(string) (string, bool)) (*Config, error) {
	return parseWith(data, file, lookup, true)
}

// parseWith parses; folders says whether the watched folders must exist.
func parseWith(data []byte, file string, lookup func(string) (string, bool), folders bool) (*Config, error) {
	c := &Config{File: file}
	p := newProblems(label(file), nil)
	decode(data, c, p, lookup)
	c.lines, c.env = p.lines, p.env
	c.resolvePaths(baseDir(file))
	c.applyDefaults(p.set)
	c.validate(p, folders)
	p.hideEnv()
	if len(p.errs) > 0 {
		return nil, errors.Join(p.sorted()...)
	}
	return c, nil
}

// Validate checks c again, such as after a program changed it. Parse and
// Load already validate.
func (c *Config) Validate() error {
	p := newProblems(label(c.File), c.lines)
	p.env = c.env
	c.validate(p, true)
	p.hideEnv()
	return errors.Join(p.sorted()...)
}

func label(file string) string {
	if file == "" {
		return "config"
	}
	return file
}

func baseDir(file string) string {
	if file == "" {
		wd, _ := os.Getwd()
		return wd
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return filepath.Dir(file)
	}
	return filepath.Dir(abs)
}

// resolvePaths makes the file's paths absolute: ~ is the home folder and a
// relative path is relative to the config file's folder, not to wherever
// the service happens to start.
func (c *Config) resolvePaths(base string) {
	abs := func(p string) string {
		if p == "" {
			return ""
		}
		p = expandHome(p)
		if !filepath.IsAbs(p) {
			p = filepath.Join(base, p)
		}
		return filepath.Clean(p)
	}
	c.StateDir = abs(c.StateDir)
	for i := range c.Watches {
		c.Watches[i].Path = abs(c.Watches[i].Path)
	}
	for i := range c.Destinations {
		d := &c.Destinations[i]
		if d.Type == TypeLocal {
			d.Path = abs(d.Path)
		}
		d.TokenFile = expandHome(d.TokenFile)
		d.Folder = strings.Trim(d.Folder, "/")
	}
	for i := range c.Schedules {
		c.Schedules[i].Folder = strings.Trim(c.Schedules[i].Folder, "/")
	}
}

func expandHome(p string) string {
	if p != "~" && !strings.HasPrefix(p, "~/") && !strings.HasPrefix(p, `~\`) {
		return p
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return p
	}
	return filepath.Join(home, p[1:])
}

// SearchPath lists where Find looks when no -c flag is given, in order:
// ./offsite.yaml, the user's config folder, then the machine-wide one.
func SearchPath() []string {
	out := []string{DefaultFileName}
	if d, err := os.UserConfigDir(); err == nil {
		out = append(out, filepath.Join(d, AppName, DefaultFileName))
	}
	return append(out, filepath.Join(systemConfigDir(runtime.GOOS, os.Getenv), DefaultFileName))
}

func systemConfigDir(goos string, getenv func(string) string) string {
	switch goos {
	case "windows":
		if pd := getenv("ProgramData"); pd != "" {
			return filepath.Join(pd, AppName)
		}
		return filepath.Join(`C:\ProgramData`, AppName)
	case "darwin":
		return filepath.Join("/Library/Application Support", AppName)
	}
	return filepath.Join("/etc", AppName)
}

// Find returns the config file to use: flagValue when given, else the first
// file of SearchPath that exists. The error lists where it looked.
func Find(flagValue string) (string, error) {
	if flagValue != "" {
		return flagValue, checkFile(flagValue)
	}
	paths := SearchPath()
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("no config file found (looked for %s); run `offsite init` to write one, or pass -c FILE",
		strings.Join(paths, ", "))
}

func checkFile(p string) error {
	fi, err := os.Stat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("config file %s does not exist; run `offsite init -c %s` to write one, or pass another -c FILE", p, p)
	case err != nil:
		return fmt.Errorf("config file %s: %w", p, err)
	case fi.IsDir():
		return fmt.Errorf("config file %s is a folder; pass the YAML file itself with -c", p)
	}
	return nil
}
