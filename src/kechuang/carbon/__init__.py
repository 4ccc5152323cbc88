"""Carbon efficiency (碳效码): monthly carbon intensity, industry benchmarks, five grades,
ranks and alerts per industrial enterprise, after Zhejiang's DB33/T 1347-2023."""
