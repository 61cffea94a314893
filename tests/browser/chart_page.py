"""What the browser tests of the series chart share (static/ems/chart.js): its root element and
the wait for a range the chart has drawn."""

CHART = "#series-chart"


def wait_for_new_range(page, previous_status: str) -> None:
    """Until the chart has loaded a range whose status line differs from `previous_status`."""
    page.wait_for_function(
        """([selector, previous]) => {
            const root = document.querySelector(selector);
            return root.dataset.state === "ready"
                && root.querySelector("[data-role=status]").textContent !== previous;
        }""",
        arg=[CHART, previous_status],
    )
