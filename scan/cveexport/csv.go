package cveexport

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"strconv"
	"strings"

	"github.com/berthreg/berth/meta"
)

// Header is the CSV's first row.
var Header = []string{"Project", "Repository", "Artifact Digest", "Tags", "CVE", "Package", "Current Version",
	"Fixed in version", "Severity", "CVSS V3 Score", "CVSS V3 Vector", "CWE Ids", "Description", "Scanner"}

// errFull stops an export at the size limit.
var errFull = errors.New("cveexport: size limit reached")

// sheet writes an export's CSV into its chunks: rows gather in memory
// and go to the store a chunk at a time.
type sheet struct {
	s   *Service
	ctx context.Context
	id  uint64
	// buf holds the rows not stored yet, row the one being written.
	buf, row bytes.Buffer
	// chunks were stored, holding bytes; rows counts the data rows.
	chunks int
	bytes  int64
	rows   int
	// full is set once a row did not fit.
	full bool
}

// newSheet starts execution id's file with the header.
func newSheet(ctx context.Context, s *Service, id uint64) (*sheet, error) {
	w := &sheet{s: s, ctx: ctx, id: id}
	return w, w.write(Header, false)
}

// add writes a data row, storing a chunk when one is full; errFull when
// the row would take the file past the limit (it is then left out).
func (w *sheet) add(cells []string) error {
	for i, c := range cells {
		cells[i] = defuse(c)
	}
	return w.write(cells, true)
}

func (w *sheet) write(cells []string, data bool) error {
	if w.full {
		return errFull
	}
	w.row.Reset()
	cw := csv.NewWriter(&w.row)
	if err := cw.Write(cells); err != nil {
		return err
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	if w.bytes+int64(w.buf.Len()+w.row.Len()) > w.s.limit {
		w.full = true
		return errFull
	}
	w.buf.Write(w.row.Bytes())
	if data {
		w.rows++
	}
	if w.buf.Len() < w.s.chunk {
		return nil
	}
	if err := w.s.store.Update(w.ctx, w.flushTx); err != nil {
		return err
	}
	w.flushed()
	return nil
}

// flushTx stores the rows gathered as the next chunk, in tx (tx may run
// again: the chunk's number and the buffer change after the commit).
func (w *sheet) flushTx(tx meta.Tx) error {
	if w.buf.Len() == 0 {
		return nil
	}
	return tx.Records(kindChunks).Put(chunkKey(w.id, w.chunks), bytes.Clone(w.buf.Bytes()))
}

// flushed notes that flushTx committed.
func (w *sheet) flushed() {
	if w.buf.Len() > 0 {
		w.chunks++
		w.bytes += int64(w.buf.Len())
		w.buf.Reset()
	}
}

// score is a CVSS score as the CSV shows it ("" for none).
func score(f float64) string {
	if f <= 0 {
		return ""
	}
	return strconv.FormatFloat(f, 'f', 1, 64)
}

// defuse keeps a spreadsheet from taking a cell for a formula: a cell
// starting with =, +, -, @, a tab or a carriage return gets a leading
// quote.
func defuse(c string) string {
	if c != "" && strings.ContainsRune("=+-@\t\r\n", rune(c[0])) {
		return "'" + c
	}
	return c
}
