/// A self-contained HTML page holding charts as inline SVG, with inline CSS
/// and a few lines of inline JavaScript (click a legend entry to hide or
/// show its series): nothing is fetched from anywhere.
public enum HTMLReport {
    public static func page(title: String, sections: [(heading: String, note: String, svg: String)]) -> String {
        var body = ""
        for section in sections {
            body += "<section>\n<h2>\(SVG.escape(section.heading))</h2>\n"
            if !section.note.isEmpty { body += "<p>\(SVG.escape(section.note))</p>\n" }
            body += "<div class=\"chart\">\n" + section.svg + "</div>\n</section>\n"
        }
        return """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <link rel="icon" href="data:,">
        <title>\(SVG.escape(title))</title>
        <style>
        body { font-family: sans-serif; margin: 24px; color: #222; background: #fafafa; }
        h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; }
        .chart { overflow-x: auto; background: #fff; border: 1px solid #ddd; padding: 8px; display: inline-block; max-width: 100%; }
        g.legend { cursor: pointer; } .hidden { opacity: 0.08; } g.legend.off text { text-decoration: line-through; fill: #999; }
        </style>
        </head>
        <body>
        <h1>\(SVG.escape(title))</h1>
        \(body)<script>
        document.querySelectorAll("svg").forEach(function (svg) {
          svg.querySelectorAll("g.legend").forEach(function (entry) {
            entry.addEventListener("click", function () {
              var key = entry.getAttribute("data-series");
              entry.classList.toggle("off");
              svg.querySelectorAll('.series[data-series="' + key + '"]').forEach(function (part) { part.classList.toggle("hidden"); });
            });
          });
        });
        </script>
        </body>
        </html>

        """
    }
}
