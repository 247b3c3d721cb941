package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/parley-comments/parley/fault"
	"github.com/parley-comments/parley/importer"
	"github.com/parley-comments/parley/models"
)

// importView is an import job as /admin shows it.
type importView struct {
	ID         uint              `json:"id"`
	Site       string            `json:"site"`
	Format     string            `json:"format"`
	FileName   string            `json:"file_name"`
	FileSize   int64             `json:"file_size"`
	DryRun     bool              `json:"dry_run"`
	State      string            `json:"state"`
	BytesRead  int64             `json:"bytes_read"`
	Created    int               `json:"created"`
	Merged     int               `json:"merged"`
	Skipped    int               `json:"skipped"`
	Threads    int               `json:"threads"`
	Summary    *importer.Summary `json:"summary"`
	Error      *string           `json:"error"`
	CreatedAt  time.Time         `json:"created_at"`
	FinishedAt *time.Time        `json:"finished_at"`
}

func newImportView(j *models.ImportJob) importView {
	v := importView{ID: j.ID, Site: j.SiteID, Format: j.Format, FileName: j.FileName, FileSize: j.FileSize, DryRun: j.DryRun,
		State: j.State, BytesRead: j.BytesRead, Created: j.Created, Merged: j.Merged, Skipped: j.Skipped, Threads: j.Threads,
		CreatedAt: j.CreatedAt, FinishedAt: j.FinishedAt}
	if j.Report != "" {
		var s importer.Summary
		if json.Unmarshal([]byte(j.Report), &s) == nil {
			v.Summary = &s
		}
	}
	if j.Error != "" {
		v.Error = &j.Error
	}
	return v
}

// uploadTimeout is how long an upload may take to arrive, in place of the
// server's short read timeout, which is meant for small JSON bodies.
const uploadTimeout = time.Hour

// POST /api/v1/admin/imports?format=&site=&dry_run=&map=&name= with the file as the body
func (h *handler) createImport(c echo.Context) error {
	q := c.QueryParams()
	req := importer.JobRequest{Site: q.Get("site"), Format: q.Get("format"), Map: q.Get("map"), FileName: q.Get("name"),
		By: currentUser(c).ID}
	if req.Site == "" {
		req.Site = models.DefaultSite
	}
	if v := q.Get("dry_run"); v != "" {
		dry, err := strconv.ParseBool(v)
		if err != nil {
			return badRequest("dry_run must be true or false", map[string]string{"dry_run": "not a boolean"})
		}
		req.DryRun = dry
	}
	ctx := c.Request().Context()
	if err := h.imports.Check(ctx, req); err != nil {
		return importError(err)
	}
	if c.Request().ContentLength > importer.MaxUpload {
		return importError(importer.ErrTooLarge)
	}
	_ = http.NewResponseController(c.Response().Writer).SetReadDeadline(time.Now().Add(uploadTimeout))
	job, err := h.imports.Start(ctx, req, c.Request().Body)
	if err != nil {
		return importError(err)
	}
	return c.JSON(http.StatusAccepted, map[string]importView{"import": newImportView(job)})
}

// GET /api/v1/admin/imports/:id
func (h *handler) getImport(c echo.Context) error {
	id, err := strconv.ParseUint(c.Param("id"), 10, 32)
	if err != nil {
		return models.ErrNotFound
	}
	job, err := h.imports.Get(c.Request().Context(), uint(id))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]importView{"import": newImportView(job)})
}

// GET /api/v1/admin/export?site=
func (h *handler) exportAll(c echo.Context) error {
	site := c.QueryParam("site")
	name := "parley-export.jsonl"
	if site != "" {
		name = "parley-export-" + site + ".jsonl"
	}
	res := c.Response()
	_ = http.NewResponseController(res.Writer).SetWriteDeadline(time.Now().Add(uploadTimeout))
	// The site is checked before the first byte, so an unknown one is a 404.
	if site != "" {
		var n int64
		if err := h.store.Read.WithContext(c.Request().Context()).Table("sites").Where("id = ?", site).Count(&n).Error; err != nil {
			return models.MapError(err)
		}
		if n == 0 {
			return models.ErrNotFound
		}
	}
	res.Header().Set(echo.HeaderContentType, "application/x-ndjson")
	res.Header().Set(echo.HeaderContentDisposition, `attachment; filename="`+name+`"`)
	res.Header().Set("Cache-Control", "no-store")
	res.WriteHeader(http.StatusOK)
	if err := importer.Export(c.Request().Context(), h.store.Read, site, res); err != nil {
		h.log.Error("export failed part way", "err", err) // the status is sent: the download ends short
	}
	return nil
}

// importError gives the importer's refusals their status.
func importError(err error) error {
	switch {
	case errors.Is(err, importer.ErrTooLarge):
		return fault.New(fault.TooLarge, err.Error())
	case errors.Is(err, importer.ErrUnknownFormat):
		return badRequest(err.Error(), map[string]string{"format": "unknown format"})
	case errors.Is(err, importer.ErrBadRules):
		return badRequest(err.Error(), map[string]string{"map": "invalid rules"})
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return fault.New(fault.TooLarge, importer.ErrTooLarge.Error())
	}
	return err
}
