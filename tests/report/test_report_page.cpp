// tests/report/test_report_page.cpp — report/page.h: the embedded page files are the ones in report/page/,
// they can be inlined without ending their element early, and page_html puts every part (and the
// data, once, as data) where report.html's markers are.  Also the C++ half of the colour check
// shared with the page's Node tests: tests/page/colormap_samples.json is report/colormap.h.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <string>

#include <nlohmann/json.hpp>

#include "base/fileio.h"
#include "report/colormap.h"
#include "report/page.h"

namespace {

// The repository root: this file is tests/report/test_report_page.cpp in it (the suite runs from the root).
std::string repository_file(std::string_view path) {
  const std::string here = __FILE__;
  const size_t tests = here.rfind("tests/");
  return here.substr(0, tests) + std::string(path);
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return out;
}

size_t count(std::string_view text, std::string_view what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string_view::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(ReportPage, EmbeddedFilesAreTheSourceFiles) {
  const std::vector<report::PageFile>& files = report::page_files();
  ASSERT_GE(files.size(), 3u);
  EXPECT_EQ(files[0].path, "report/page/report.html");
  for (const report::PageFile& f : files) {
    EXPECT_FALSE(f.text.empty()) << f.path;
    EXPECT_EQ(f.text, base::read_file(repository_file(f.path))) << f.path << " differs from the bytes in the binary: rebuild";
  }
}

// A stylesheet inlined in <style> ends at the first "</style"; a script in <script> at the first
// "</script", and "<!--" there changes how the browser finds that end.
TEST(ReportPage, FilesCanBeInlined) {
  for (const report::PageFile& f : report::page_files()) {
    if (f.path == "report/page/report.html") continue;
    const std::string text = lower(f.text);
    const bool css = f.path.size() > 4 && f.path.substr(f.path.size() - 4) == ".css";
    EXPECT_EQ(text.find(css ? "</style" : "</script"), std::string::npos) << f.path;
    EXPECT_EQ(text.find("<!--"), std::string::npos) << f.path;
    EXPECT_EQ(text.find("/*@report_"), std::string::npos) << f.path << " spells a marker";
  }
}

TEST(ReportPage, PartsAndDataGoWhereTheMarkersAre) {
  const std::string data = R"({"note":"/*@REPORT_DATA@*/ /*@REPORT_JS@*/ stays data"})";
  const std::string html = report::page_html(data);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("Content-Security-Policy\" content=\"default-src 'none'"), std::string::npos);
  EXPECT_NE(html.find("<script type=\"application/json\" id=\"report-data\">" + data + "</script>"), std::string::npos);
  EXPECT_EQ(count(html, data), 1u);
  for (const report::PageFile& f : report::page_files()) {
    if (f.path == "report/page/report.html") continue;
    EXPECT_EQ(count(html, f.text), 1u) << f.path << " inlined once";
  }
  EXPECT_EQ(count(html, "/*@REPORT_"), 2u);  // only the two inside the data
  EXPECT_EQ(count(html, "<script"), 3u);  // the data, helpers.js, report.js
  EXPECT_EQ(count(html, "<style>"), 1u);
}

// tests/page/helpers.test.js checks the page's ramp against the same samples, so the figures and
// the page agree colour for colour.
TEST(ReportPage, ColormapSamplesAreTheCppColormap) {
  const nlohmann::json samples = nlohmann::json::parse(base::read_file(repository_file("tests/page/colormap_samples.json")));
  EXPECT_EQ(samples["stops"], nlohmann::json::parse(report::colormap_stops_json()));
  ASSERT_GE(samples["sequential"].size(), 10u);
  ASSERT_GE(samples["diverging"].size(), 10u);
  for (const nlohmann::json& s : samples["sequential"])
    EXPECT_EQ(report::hex(report::sequential_color(s[0].get<double>())), s[1].get<std::string>()) << "t = " << s[0];
  for (const nlohmann::json& s : samples["diverging"])
    EXPECT_EQ(report::hex(report::diverging_color(s[0].get<double>())), s[1].get<std::string>()) << "s = " << s[0];
}

}  // namespace

// monitor.html (`nnfmri monitor`): its own page file and script, the report's stylesheet and helpers,
// the data once where its marker is.
TEST(MonitorPage, PartsAndDataGoWhereTheMarkersAre) {
  const std::string data = R"({"note":"/*@MONITOR_JS@*/ stays data"})";
  const std::string html = report::monitor_page_html(data);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("Content-Security-Policy\" content=\"default-src 'none'"), std::string::npos);
  EXPECT_NE(html.find("<script type=\"application/json\" id=\"monitor-data\">" + data + "</script>"), std::string::npos);
  const std::vector<report::PageFile>& monitor = report::monitor_page_files();
  ASSERT_EQ(monitor.size(), 2u);
  EXPECT_EQ(monitor[0].text, base::read_file(repository_file(monitor[0].path)));
  EXPECT_EQ(monitor[1].text, base::read_file(repository_file(monitor[1].path)));
  EXPECT_EQ(count(html, monitor[1].text), 1u);
  EXPECT_EQ(count(html, report::page_files()[1].text), 1u);  // report.css
  EXPECT_EQ(count(html, report::page_files()[2].text), 1u);  // helpers.js
  EXPECT_EQ(count(html, "/*@MONITOR_JS@*/"), 1u);           // only the one inside the data
  EXPECT_EQ(lower(std::string(monitor[1].text)).find("</script"), std::string::npos);
}

// The page's charts are canvases, which a screen reader passes over in silence unless they say what
// they are.  Each canvas of report.html is role="img" with an aria-label (the layer maps get theirs
// from report.js), or, when the keyboard works in it (tabindex: the pathway view),
// role="application", so that a screen reader passes it the arrow keys.
TEST(ReportPage, EveryCanvasOfThePageHasAnAccessibleName) {
  const std::string html = report::page_html("{}");
  size_t canvases = 0, interactive = 0;
  for (size_t at = html.find("<canvas"); at != std::string::npos; at = html.find("<canvas", at + 1)) {
    const std::string tag = html.substr(at, html.find('>', at) - at);
    ++canvases;
    const bool keys = tag.find("tabindex=\"0\"") != std::string::npos;
    interactive += keys ? 1 : 0;
    EXPECT_NE(tag.find(keys ? "role=\"application\"" : "role=\"img\""), std::string::npos) << tag;
    const size_t label = tag.find("aria-label=\"");
    ASSERT_NE(label, std::string::npos) << tag;
    EXPECT_GT(tag.find('"', label + 12), label + 12 + 10) << "a label of a few words: " << tag;
  }
  EXPECT_EQ(canvases, 4u);     // pathways, curves, eeg-chart, eeg-bands
  EXPECT_EQ(interactive, 1u);  // pathways
}
