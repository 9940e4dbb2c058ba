"""The working-day calendar: working days and office hours under the State Council's holiday
schedule (calendar), where its data comes from (store, models), how administrators change it
(admin), and limits such as "10wd" turned into deadlines (deadlines)."""
