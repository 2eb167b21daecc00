//! Diagnostics go through the `log` crate once the program set up logging. A logger is
//! process-wide, so this file holds a single test (its own process).

use corepool::Pool;
use std::sync::Mutex;

static RECORDS: Mutex<Vec<(log::Level, String, String)>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        RECORDS.lock().unwrap().push((
            record.level(),
            record.target().to_owned(),
            record.args().to_string(),
        ));
    }
    fn flush(&self) {}
}

#[test]
fn detached_panics_and_hook_panics_are_logged_once_a_logger_is_set() {
    log::set_logger(&Capture).unwrap();
    log::set_max_level(log::LevelFilter::Warn);
    let pool = Pool::builder()
        .threads(1)
        .on_thread_stop(|_| panic!("stop hook"))
        .build()
        .unwrap();
    drop(pool.spawn(|| panic!("nobody reads this")));
    pool.shutdown();
    let records = RECORDS.lock().unwrap().clone();
    let has = |needle: &str| {
        records.iter().any(|(level, target, text)| {
            *level == log::Level::Error && target == "corepool" && text.contains(needle)
        })
    };
    assert!(
        has("a detached task panicked: nobody reads this"),
        "{records:?}"
    );
    assert!(
        has("the on_thread_stop hook panicked: stop hook"),
        "{records:?}"
    );
}
