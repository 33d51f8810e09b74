package jobs

import (
	"errors"
	"net/http"

	"github.com/ofp-dev/ofp/internal/httpx"
)

// Handler serves the admin API:
//
//	GET  /admin/v1/jobs                 registered jobs, next and last run
//	GET  /admin/v1/jobs/{name}/runs     a job's history
//	POST /admin/v1/jobs/{name}/run      run now and wait; 409 if already running
func (s *Scheduler) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /admin/v1/jobs", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Jobs())
	})
	mux.HandleFunc("GET /admin/v1/jobs/{name}/runs", func(w http.ResponseWriter, r *http.Request) {
		h, err := s.History(r.PathValue("name"))
		if err != nil {
			writeError(w, http.StatusNotFound, "NOT_FOUND", err.Error())
			return
		}
		writeJSON(w, http.StatusOK, h)
	})
	mux.HandleFunc("POST /admin/v1/jobs/{name}/run", func(w http.ResponseWriter, r *http.Request) {
		run, err := s.RunNow(r.Context(), r.PathValue("name"))
		switch {
		case errors.Is(err, ErrUnknownJob):
			writeError(w, http.StatusNotFound, "NOT_FOUND", err.Error())
		case errors.Is(err, ErrAlreadyRunning):
			writeError(w, http.StatusConflict, "ALREADY_RUNNING", "the job is running; wait for it and look at GET /admin/v1/jobs/{name}/runs")
		default:
			writeJSON(w, http.StatusOK, run) // a failed run is a result, not an API error
		}
	})
	return mux
}

// writeJSON and writeError keep this API's historical Content-Type
// (without charset); httpx writes everything else.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if err := httpx.WriteJSON(w, code, v); err != nil {
		writeError(w, http.StatusInternalServerError, "INTERNAL_ERROR", err.Error())
	}
}

func writeError(w http.ResponseWriter, code int, errCode, detail string) {
	w.Header().Set("Content-Type", "application/json")
	httpx.WriteError(w, code, httpx.ErrorDetail{Code: errCode, Title: http.StatusText(code), Detail: detail})
}
