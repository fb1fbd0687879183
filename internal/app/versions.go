package app

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/offsite-backup/offsite/queue"
)

// replacedSoon is how soon a newer version must follow for the earlier one
// to count as possibly partial: a writer that paused longer than settle
// left it, and the complete file came minutes later. Software that rewrites
// a backup on every run does so hours apart.
const replacedSoon = time.Hour

// fileVersions groups the done uploads at dest by source file (watch and
// path), oldest first by the version's modification time.
func (a *App) fileVersions(ctx context.Context, dest string) (byRemote map[string]*queue.Job, byFile map[string][]*queue.Job, err error) {
	jobs, err := a.Store.Jobs(ctx, queue.Filter{States: []queue.State{queue.Done}, Destination: dest, Purpose: queue.Routine})
	if err != nil {
		return nil, nil, fmt.Errorf("read the queue: %w", err)
	}
	byRemote, byFile = map[string]*queue.Job{}, map[string][]*queue.Job{}
	for _, j := range jobs {
		byRemote[j.RemotePath] = j
		k := j.Version.Watch + "/" + j.Version.Rel
		byFile[k] = append(byFile[k], j)
	}
	for _, vs := range byFile {
		sort.Slice(vs, func(i, k int) bool {
			if !vs[i].Version.ModTime.Equal(vs[k].Version.ModTime) {
				return vs[i].Version.ModTime.Before(vs[k].Version.ModTime)
			}
			return vs[i].ID < vs[k].ID
		})
	}
	return byRemote, byFile, nil
}

// Newest maps a remote path that offsite uploaded to the newest uploaded
// version of the same source file. The first version of a file holds its
// plain name (day.bak) and later ones sit beside it with a timestamp, so
// without this a restore of day.bak would bring back the oldest copy, or
// a partial one whose complete file followed. note says what was chosen;
// it is "" when remote is the newest (or not offsite's).
func (a *App) Newest(ctx context.Context, dest, remote string) (path, note string, err error) {
	byRemote, byFile, err := a.fileVersions(ctx, dest)
	if err != nil {
		return remote, "", err
	}
	j, ok := byRemote[remote]
	if !ok {
		// The plain name of a file stored compressed or encrypted.
		if d := a.Cfg.Destination(dest); d != nil && d.Codec().Suffix() != "" {
			j, ok = byRemote[remote+d.Codec().Suffix()]
		}
		if !ok {
			return remote, "", nil
		}
		remote = j.RemotePath
	}
	vs := byFile[j.Version.Watch+"/"+j.Version.Rel]
	newest := vs[len(vs)-1]
	if newest.RemotePath == remote {
		return remote, "", nil
	}
	return newest.RemotePath, fmt.Sprintf("%s holds an earlier version (%s); restoring the newest, %s (%s). Use --exact to restore %s itself.",
		remote, j.Version.ModTime.Local().Format(time.DateTime), newest.RemotePath, newest.Version.ModTime.Local().Format(time.DateTime), remote), nil
}

// VersionNotes marks the uploads at dest that a newer version of the same
// file followed: soon after (possibly partial) or later (an earlier copy).
func (a *App) VersionNotes(ctx context.Context, dest string) (map[string]string, error) {
	_, byFile, err := a.fileVersions(ctx, dest)
	if err != nil {
		return nil, err
	}
	notes := map[string]string{}
	for _, vs := range byFile {
		newest := vs[len(vs)-1]
		for i, j := range vs[:len(vs)-1] {
			gap := vs[i+1].Version.ModTime.Sub(j.Version.ModTime)
			if gap < replacedSoon {
				notes[j.RemotePath] = fmt.Sprintf("replaced %s later: may be incomplete; newest is %s", gap.Round(time.Second), newest.RemotePath)
			} else {
				notes[j.RemotePath] = "earlier version; newest is " + newest.RemotePath
			}
		}
	}
	return notes, nil
}
