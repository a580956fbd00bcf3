// report/page.h — report.html: the page's source files, compiled into the binary, filled with a run.
//
// Promise: page_html(data) is report/page/report.html with report/page/report.css inlined at its
// /*@REPORT_CSS@*/ marker, report/page/report.js at /*@REPORT_JS@*/ and `data` (JSON already made
// script-safe by report::script_safe_json) at /*@REPORT_DATA@*/, inside
// <script type="application/json" id="report-data">.  Each marker occurs once in report.html and
// inserted text is never searched again, so data that happens to spell a marker stays data.  The
// files are embedded at build time (report/page.cpp), so nnfmri reads no file of its own at run
// time and the page is one self-contained file: no network (its Content-Security-Policy forbids
// every fetch; no CDN, no WebGL), data shown only through textContent.
//
// The page draws:
//  - an epoch slider and a play button that drive every view;
//  - per layer, a 3-D view of the region grid as voxels (x = column block j, y = row block i,
//    depth = channel block k, spread apart so inner slices show), coloured by ζ (RdBu, centred on
//    0) or density (viridis) with one scale per layer over all epochs, optionally sized by |value|,
//    critical regions outlined; drag rotates every view (orthographic projection, painter's
//    algorithm), a click selects a region;
//  - the selected region's numbers (density, information, ζ with interval, significance, Shapley,
//    p, lesion, Taylor, strongest in/out flows) and its ζ across epochs;
//  - the pathway view (layers as columns of channel-block tiles, tract.json's chains and strongest
//    flows), the training curves with ζ stability, the epoch's summary and the run's settings.
// For tests it exposes window.nnfmriReport {epochCount, layerCount, setEpoch(i), select(l, r),
// frontRegion(layer), voxelPoint(layer, r)} and sets body[data-ready="1"] and data-render-ms once
// drawn; every .layer-view carries data-layer, data-regions (voxels drawn) and data-epoch.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace report {

// One embedded source file of the page: its path in the repository and its bytes.
struct PageFile {
  std::string_view path, text;
};
// Every embedded file: report.html first, then what it inlines.
const std::vector<PageFile>& page_files();

// report.html for one run; `data` is script-safe JSON.
std::string page_html(const std::string& data);

}  // namespace report
