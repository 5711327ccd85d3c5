/**
 * A subscription's last 15 minutes, minute by minute: uPlot (loaded by the page as a classic
 * script, from the pipeline's node_modules) draws delivered, retried and failed. The series differ
 * by dash and width as well as by colour; the view's table gives the same numbers as text.
 */
const SERIES = [
  { label: 'delivered', stroke: '#1b7f3b', width: 2 },
  { label: 'retried', stroke: '#a15c00', width: 2, dash: [6, 4] },
  { label: 'failed', stroke: '#b3261e', width: 3, dash: [2, 3] }
]

/** uPlot's columns: minute starts (seconds), then one column per series. */
export function chartData(minutes) {
  return [
    minutes.map((m) => Date.parse(m.minute) / 1000),
    minutes.map((m) => m.delivered),
    minutes.map((m) => m.retried),
    minutes.map((m) => m.failed)
  ]
}

const widthOf = (element) => Math.max(260, Math.floor(element.clientWidth || 600))

export function createChart(element, minutes) {
  const { uPlot } = window
  const chart = new uPlot(
    {
      width: widthOf(element),
      height: 180,
      legend: { show: true, live: false },
      cursor: { drag: { x: false, y: false } },
      scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
      axes: [{}, { label: 'per minute', size: 50 }],
      series: [{ label: 'minute' }, ...SERIES.map((s) => ({ ...s, points: { show: true, size: 4 } }))]
    },
    chartData(minutes),
    element
  )
  const resize = new ResizeObserver(() => chart.setSize({ width: widthOf(element), height: 180 }))
  resize.observe(element)
  return {
    update: (next) => chart.setData(chartData(next)),
    destroy: () => {
      resize.disconnect()
      chart.destroy()
    }
  }
}
