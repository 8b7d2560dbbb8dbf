"""A channel's Optty configuration: the Dashboard page (:mod:`.views`) and the rules both it
and ``saleor-optty-app configure`` apply (:mod:`.service`)."""
