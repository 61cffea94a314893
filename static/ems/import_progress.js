/* The progress bar of an import job (templates/admin/imports/importjob/progress.html).
 *
 * Polls the job's JSON status (data-status-url) until it has finished, backing off from half a
 * second to five, and keeps the bar, the text and the root's data-state (queued, running, done,
 * failed) current; tests wait on data-state. A status request that fails is retried. */
(function () {
    "use strict";

    const FIRST_DELAY_MS = 500;
    const MAX_DELAY_MS = 5000;
    const number = new Intl.NumberFormat("en");

    function follow(root) {
        const url = root.dataset.statusUrl;
        const bar = root.querySelector("[data-role=bar]");
        const status = root.querySelector("[data-role=status]");
        const written = root.querySelector("[data-role=written]");
        const percent = root.querySelector("[data-role=percent]");
        const error = root.querySelector("[data-role=error]");
        const text = root.querySelector("[data-role=text]");
        let delay = FIRST_DELAY_MS;

        function render(job) {
            root.dataset.state = job.status;
            root.dataset.finished = String(job.finished);
            bar.max = Math.max(job.points, 1);
            bar.value = job.points ? job.written : (job.finished ? 1 : 0);
            bar.textContent = job.percent + " %";
            status.textContent = job.status.charAt(0).toUpperCase() + job.status.slice(1);
            written.textContent = number.format(job.written);
            percent.textContent = job.percent;
            text.classList.toggle("ems-stalled", false);
            if (job.error) {
                error.textContent = job.error;
                error.hidden = false;
            }
        }

        function poll() {
            fetch(url, {headers: {Accept: "application/json"}, credentials: "same-origin", cache: "no-store"})
                .then(function (response) {
                    if (!response.ok) {
                        throw new Error("status " + response.status);
                    }
                    return response.json();
                })
                .then(function (job) {
                    render(job);
                    if (!job.finished) {
                        window.setTimeout(poll, delay);
                        delay = Math.min(delay * 1.5, MAX_DELAY_MS);
                    }
                })
                .catch(function () {
                    text.classList.toggle("ems-stalled", true);
                    window.setTimeout(poll, MAX_DELAY_MS);
                });
        }

        if (root.dataset.finished !== "true") {
            poll();
        }
    }

    function start() {
        document.querySelectorAll("[data-import-job]").forEach(follow);
    }

    if (document.readyState === "loading") {
        document.addEventListener("DOMContentLoaded", start);
    } else {
        start();
    }
})();
