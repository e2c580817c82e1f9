// The routing layer's pure parts (src/web/routes.h): which UI files are served with which type,
// HTML escaping, and the page's placeholders. The routes themselves: server_test.cpp.
#include <gtest/gtest.h>

#include "web/routes.h"

namespace wc::web {
namespace {

TEST(Routes, UiAssetTypes) {
  EXPECT_EQ(mime_type("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(mime_type("app.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(mime_type("x/mod.mjs"), "text/javascript; charset=utf-8");
  EXPECT_EQ(mime_type("style.css"), "text/css; charset=utf-8");
  EXPECT_EQ(mime_type("favicon.svg"), "image/svg+xml");
  EXPECT_EQ(mime_type("a.png"), "image/png");
  EXPECT_EQ(mime_type("favicon.ico"), "image/x-icon");
}

TEST(Routes, OtherFilesAreNotServed) {
  EXPECT_EQ(mime_type("package.json"), "");
  EXPECT_EQ(mime_type("Makefile"), "");
  EXPECT_EQ(mime_type("secret.html.bak"), "");
  EXPECT_EQ(mime_type(""), "");
}

TEST(Routes, HtmlEscape) {
  EXPECT_EQ(html_escape(R"(<a href="x" title='y'>&</a>)"),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;");
  EXPECT_EQ(html_escape("plain"), "plain");
}

TEST(Routes, IndexPlaceholders) {
  EXPECT_EQ(render_index("<meta content=\"{{CSRF_TOKEN}}\"><h1>{{LATTICE}}</h1>{{LATTICE}}", "t0k",
                         "<b>"),
            "<meta content=\"t0k\"><h1>&lt;b&gt;</h1>&lt;b&gt;");
  // A replacement containing a placeholder is not expanded again.
  EXPECT_EQ(render_index("{{LATTICE}}", "t", "{{CSRF_TOKEN}}"), "{{CSRF_TOKEN}}");
}

}  // namespace
}  // namespace wc::web
