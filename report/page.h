// report/page.h — report.html: the page's source files, compiled into the binary, filled with a run.
//
// Promise: page_html(data) is report/page/report.html with its /*@CONNECT_SRC@*/ marker removed (see
// PageSource), report/page/report.css inlined at its /*@REPORT_CSS@*/ marker, report/page/helpers.js at /*@REPORT_HELPERS_JS@*/, report/page/report.js
// at /*@REPORT_JS@*/ and `data` (JSON already made script-safe by report::script_safe_json) at
// /*@REPORT_DATA@*/, inside <script type="application/json" id="report-data">.  Each marker occurs
// once in report.html and inserted text is never searched again, so data that happens to spell a
// marker stays data.  The files are embedded at build time (report/page.cpp), so nnfmri reads no
// file of its own at run time and the page is one self-contained file: no network (its
// Content-Security-Policy forbids every fetch; no CDN, no WebGL), data shown only through
// textContent.  What the page draws: report/page/report.js; the functions it shares with monitor.html,
// tested with Node (tests/page/): report/page/helpers.js.
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

// Where the page's run data comes from.  inlined: report.html, `data` is the run (its CSP forbids every
// fetch).  served: the same page from `nnfmri serve` (serve/serve.h), `data` is {"serve": {...}} and
// the page fetches the runs from the server's JSON endpoints: its CSP adds connect-src 'self' at the
// /*@CONNECT_SRC@*/ marker (empty in report.html), and nothing else differs.
enum class PageSource { inlined, served };

// report.html for one run; `data` is script-safe JSON.
std::string page_html(const std::string& data, PageSource source = PageSource::inlined);

// monitor.html (`nnfmri monitor`, README "Monitoring"): report/page/monitor.html with report.css at
// /*@REPORT_CSS@*/, helpers.js at /*@REPORT_HELPERS_JS@*/, report/page/monitor.js at /*@MONITOR_JS@*/
// and `data` (script-safe JSON) at /*@REPORT_DATA@*/; the same rules as report.html.
const std::vector<PageFile>& monitor_page_files();  // monitor.html, monitor.js
std::string monitor_page_html(const std::string& data);

}  // namespace report
