#include "report/page.h"

#include <algorithm>

#include "base/error.h"

// Each page file becomes a read-only byte range [NAME_begin, NAME_end) in this object: the
// assembler's .incbin copies the file in when this translation unit is compiled (paths relative to
// the repository root, where make runs the compiler).  The compiler's -MMD cannot see .incbin, so
// the Makefile makes this object depend on report/page/* itself.
#define NNFMRI_EMBED_PAGE_FILE(name, path)                              \
  __asm__(".pushsection .rodata\n"                                      \
          ".global " #name "_begin\n" #name "_begin:\n"                 \
          ".incbin \"" path "\"\n"                                      \
          ".global " #name "_end\n" #name "_end:\n"                     \
          ".popsection\n");                                             \
  extern "C" const char name##_begin[], name##_end[];

NNFMRI_EMBED_PAGE_FILE(nnfmri_page_html, "report/page/report.html")
NNFMRI_EMBED_PAGE_FILE(nnfmri_page_css, "report/page/report.css")
NNFMRI_EMBED_PAGE_FILE(nnfmri_page_helpers_js, "report/page/helpers.js")
NNFMRI_EMBED_PAGE_FILE(nnfmri_page_js, "report/page/report.js")
NNFMRI_EMBED_PAGE_FILE(nnfmri_monitor_html, "report/page/monitor.html")
NNFMRI_EMBED_PAGE_FILE(nnfmri_monitor_js, "report/page/monitor.js")

namespace report {
namespace {

std::string_view bytes(const char* begin, const char* end) { return {begin, size_t(end - begin)}; }

struct Slot {
  std::string_view marker, text;
};

// `page` with every slot's marker replaced by its text; each marker must occur exactly once, and
// the inserted text is never searched for markers.
std::string fill(std::string_view page, const std::vector<Slot>& slots) {
  std::vector<std::pair<size_t, const Slot*>> at;
  size_t size = page.size();
  for (const Slot& slot : slots) {
    const size_t pos = page.find(slot.marker);
    if (pos == std::string_view::npos || page.find(slot.marker, pos + 1) != std::string_view::npos)
      throw base::Error("report/page/report.html: marker " + std::string(slot.marker) + " must occur exactly once");
    at.emplace_back(pos, &slot);
    size += slot.text.size();
  }
  std::sort(at.begin(), at.end());
  std::string out;
  out.reserve(size);
  size_t from = 0;
  for (const auto& [pos, slot] : at) {
    out.append(page.substr(from, pos - from)).append(slot->text);
    from = pos + slot->marker.size();
  }
  return out.append(page.substr(from));
}

}  // namespace

const std::vector<PageFile>& page_files() {
  static const std::vector<PageFile> files = {
      {"report/page/report.html", bytes(nnfmri_page_html_begin, nnfmri_page_html_end)},
      {"report/page/report.css", bytes(nnfmri_page_css_begin, nnfmri_page_css_end)},
      {"report/page/helpers.js", bytes(nnfmri_page_helpers_js_begin, nnfmri_page_helpers_js_end)},
      {"report/page/report.js", bytes(nnfmri_page_js_begin, nnfmri_page_js_end)},
  };
  return files;
}

const std::vector<PageFile>& monitor_page_files() {
  static const std::vector<PageFile> files = {
      {"report/page/monitor.html", bytes(nnfmri_monitor_html_begin, nnfmri_monitor_html_end)},
      {"report/page/monitor.js", bytes(nnfmri_monitor_js_begin, nnfmri_monitor_js_end)},
  };
  return files;
}

std::string monitor_page_html(const std::string& data) {
  const std::vector<PageFile>& files = page_files();
  const std::vector<PageFile>& monitor = monitor_page_files();
  return fill(monitor[0].text, {{"/*@REPORT_CSS@*/", files[1].text},
                                {"/*@REPORT_HELPERS_JS@*/", files[2].text},
                                {"/*@MONITOR_JS@*/", monitor[1].text},
                                {"/*@REPORT_DATA@*/", data}});
}

std::string page_html(const std::string& data, PageSource source) {
  const std::vector<PageFile>& files = page_files();
  return fill(files[0].text, {{"/*@CONNECT_SRC@*/", source == PageSource::served ? "connect-src 'self'; " : ""},
                              {"/*@REPORT_CSS@*/", files[1].text},
                              {"/*@REPORT_HELPERS_JS@*/", files[2].text},
                              {"/*@REPORT_JS@*/", files[3].text},
                              {"/*@REPORT_DATA@*/", data}});
}

}  // namespace report
