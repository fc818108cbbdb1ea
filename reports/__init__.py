"""Reports: figures (functions returning a matplotlib Figure, no I/O) and the assembly of ``report.html`` and
``summary.md`` from what a run directory holds.

* :mod:`reports.run` reads a run directory into plain records (:class:`~reports.run.RunRecords`), tolerating
  missing or unreadable files;
* :mod:`reports.figures` draws them;
* :mod:`reports.sections` turns them into report sections (tables of already formatted strings, figure makers);
* :mod:`reports.render` writes those sections as Markdown and as a self-contained HTML page;
* :mod:`reports.build` ties it together (:func:`~reports.build.build_report`);
* :mod:`reports.thresholds` collects the dynamic thresholds of a DyBNN for ``thresholds.npz`` (needs torch).
"""
