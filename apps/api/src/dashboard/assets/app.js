// labclimate dashboard: every lab's 24 h averages (sortable, searchable, paged) and one lab's chart.
// Plain script (no build step); uPlot is served by the API at /dashboard/vendor. Data comes from the JSON API
// with the read key the person enters, kept in sessionStorage (this tab only).
'use strict'
;(function () {
  const KEY_STORAGE = 'labclimate.readKey'
  const PAGE_SIZE = 100
  const $ = (id) => document.getElementById(id)

  const state = {
    labs: [],
    thresholds: null,
    sortKey: 'lab_id',
    sortDir: 1,
    search: '',
    onlyOut: false,
    page: 0,
    selected: null,
    chart: null
  }

  const key = () => sessionStorage.getItem(KEY_STORAGE)

  function status (text, isError) {
    const el = $('status')
    el.textContent = text
    el.className = isError ? 'error' : ''
  }

  async function api (path) {
    const response = await fetch(path, { headers: { authorization: 'Bearer ' + key(), accept: 'application/json' } })
    if (response.status === 401 || response.status === 403) {
      sessionStorage.removeItem(KEY_STORAGE)
      showKeyForm('That key was refused (' + response.status + '): enter a read or admin key.')
      throw new Error('refused')
    }
    if (!response.ok) {
      let detail = ''
      try { detail = (await response.json()).detail || '' } catch (e) {}
      throw new Error(path + ' answered ' + response.status + (detail ? ': ' + detail : ''))
    }
    return response.json()
  }

  function showKeyForm (message) {
    $('main').hidden = true
    $('forget').hidden = true
    $('key-form').hidden = false
    status(message || 'Enter a read key to see the labs.', Boolean(message))
    $('key').focus()
  }

  const outOfRange = {
    avg_temperature_c: (v) => v < state.thresholds.temperatureC.min || v > state.thresholds.temperatureC.max,
    avg_humidity_pct: (v) => v < state.thresholds.humidityPct.min || v > state.thresholds.humidityPct.max
  }
  const isOut = (lab) => outOfRange.avg_temperature_c(lab.avg_temperature_c) || outOfRange.avg_humidity_pct(lab.avg_humidity_pct)

  async function loadLabs () {
    status('Loading labs…')
    if (state.thresholds === null) {
      const config = await (await fetch('/dashboard/config.json')).json()
      state.thresholds = config.thresholds
      const t = state.thresholds
      $('thresholds').textContent = 'Highlighted: 24 h averages outside ' + t.temperatureC.min + '–' + t.temperatureC.max + ' °C or ' +
        t.humidityPct.min + '–' + t.humidityPct.max + ' %RH. Click a lab for its chart.'
    }
    const labs = await api('/labs')
    state.labs = labs
    $('key-form').hidden = true
    $('main').hidden = false
    $('forget').hidden = false
    const out = labs.filter(isOut).length
    status(labs.length + ' labs reporting in the past 24 h, ' + out + ' out of range (at ' + new Date().toLocaleTimeString() + ')')
    render()
  }

  function visibleLabs () {
    const q = state.search.trim()
    let rows = state.labs
    if (q !== '') rows = rows.filter((l) => String(l.lab_id).includes(q))
    if (state.onlyOut) rows = rows.filter(isOut)
    const k = state.sortKey
    const d = state.sortDir
    return rows.slice().sort((a, b) => (a[k] - b[k]) * d || (a.lab_id - b.lab_id))
  }

  function cell (text, cls) {
    const td = document.createElement('td')
    td.textContent = text
    if (cls) td.className = cls
    return td
  }

  function render () {
    const rows = visibleLabs()
    const pages = Math.max(1, Math.ceil(rows.length / PAGE_SIZE))
    state.page = Math.min(state.page, pages - 1)
    const start = state.page * PAGE_SIZE
    const body = document.createElement('tbody')
    for (const lab of rows.slice(start, start + PAGE_SIZE)) {
      const tr = document.createElement('tr')
      tr.dataset.labId = String(lab.lab_id)
      if (lab.lab_id === state.selected) tr.className = 'selected'
      tr.append(
        cell(String(lab.lab_id)),
        cell(lab.avg_temperature_c.toFixed(2), outOfRange.avg_temperature_c(lab.avg_temperature_c) ? 'out' : ''),
        cell(lab.avg_humidity_pct.toFixed(2), outOfRange.avg_humidity_pct(lab.avg_humidity_pct) ? 'out' : ''),
        cell(lab.readings.toLocaleString('en'))
      )
      body.append(tr)
    }
    $('labs').replaceChild(body, $('labs').tBodies[0])
    $('page-info').textContent = rows.length === 0
      ? 'no labs match'
      : (start + 1) + '–' + Math.min(rows.length, start + PAGE_SIZE) + ' of ' + rows.length.toLocaleString('en')
    $('prev').disabled = state.page === 0
    $('next').disabled = state.page >= pages - 1
    for (const th of document.querySelectorAll('#labs th')) {
      th.setAttribute('aria-sort', th.dataset.key === state.sortKey ? (state.sortDir === 1 ? 'ascending' : 'descending') : 'none')
    }
  }

  async function showChart (labId) {
    state.selected = labId
    render()
    const resolution = $('resolution').value
    $('chart-section').hidden = false
    status('Loading lab ' + labId + '…')
    const [lab, series] = await Promise.all([api('/labs/' + labId), api('/labs/' + labId + '/readings?resolution=' + resolution)])
    $('chart-title').textContent = 'Lab ' + lab.id + ': ' + lab.name + (lab.address ? ' (' + lab.address + ')' : '')
    const xs = []
    const temps = []
    const hums = []
    for (const p of series.points) {
      xs.push(Date.parse(p.timestamp) / 1000)
      temps.push(p.avg_temperature_c)
      hums.push(p.avg_humidity_pct)
    }
    const el = $('chart')
    el.dataset.points = String(xs.length)
    el.dataset.labId = String(labId)
    el.dataset.resolution = resolution
    if (state.chart !== null) state.chart.destroy()
    // eslint-disable-next-line new-cap -- the library names its constructor uPlot
    state.chart = new window.uPlot({
      width: Math.max(320, el.clientWidth || 900),
      height: 320,
      scales: { x: { time: true }, C: {}, RH: {} },
      series: [
        {},
        { label: 'Temperature °C', scale: 'C', stroke: '#d9480f', width: 2, value: (u, v) => v == null ? '–' : v.toFixed(2) + ' °C' },
        { label: 'Humidity %RH', scale: 'RH', stroke: '#1c7ed6', width: 2, value: (u, v) => v == null ? '–' : v.toFixed(1) + ' %' }
      ],
      axes: [
        {},
        { scale: 'C', label: '°C', stroke: '#d9480f' },
        { scale: 'RH', label: '%RH', side: 1, stroke: '#1c7ed6', grid: { show: false } }
      ]
    }, [xs, temps, hums], el)
    status(series.points.length + ' ' + resolution + ' points for lab ' + labId + (series.truncated ? ' (truncated)' : ''))
  }

  function wire () {
    $('key-form').addEventListener('submit', (event) => {
      event.preventDefault()
      sessionStorage.setItem(KEY_STORAGE, $('key').value.trim())
      $('key').value = ''
      loadLabs().catch(fail)
    })
    $('forget').addEventListener('click', () => {
      sessionStorage.removeItem(KEY_STORAGE)
      showKeyForm()
    })
    $('refresh').addEventListener('click', () => loadLabs().catch(fail))
    $('search').addEventListener('input', (event) => { state.search = event.target.value; state.page = 0; render() })
    $('only-out').addEventListener('change', (event) => { state.onlyOut = event.target.checked; state.page = 0; render() })
    $('prev').addEventListener('click', () => { state.page--; render() })
    $('next').addEventListener('click', () => { state.page++; render() })
    for (const th of document.querySelectorAll('#labs th')) {
      th.querySelector('button').addEventListener('click', () => {
        if (state.sortKey === th.dataset.key) state.sortDir = -state.sortDir
        else { state.sortKey = th.dataset.key; state.sortDir = 1 }
        render()
      })
    }
    $('labs').addEventListener('click', (event) => {
      const tr = event.target.closest('tbody tr')
      if (tr) showChart(Number(tr.dataset.labId)).catch(fail)
    })
    $('resolution').addEventListener('change', () => { if (state.selected !== null) showChart(state.selected).catch(fail) })
  }

  function fail (error) {
    if (error && error.message === 'refused') return
    status(String(error && error.message ? error.message : error), true)
  }

  wire()
  if (key()) loadLabs().catch(fail)
  else showKeyForm()
})()
