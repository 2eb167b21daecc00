//! The process-wide settings: `COREPOOL_THREADS` and `Builder::build_global`. Both are
//! process-wide, so this file holds a single test (its own process) that runs them in order.

use corepool::{BuildError, Pool};

#[test]
fn threads_env_var_then_build_global() {
    assert_eq!(corepool::THREADS_ENV, "COREPOOL_THREADS");
    std::env::remove_var(corepool::THREADS_ENV);
    let default = Pool::builder().build().unwrap().threads();

    // A positive number sets the default thread count...
    let wanted = default + 2;
    std::env::set_var(corepool::THREADS_ENV, wanted.to_string());
    assert_eq!(Pool::builder().build().unwrap().threads(), wanted);
    // ...but not an explicit one.
    assert_eq!(Pool::builder().threads(1).build().unwrap().threads(), 1);
    // Zero, empty and garbage leave the default, as rayon does with its variable.
    for ignored in ["0", "", "many"] {
        std::env::set_var(corepool::THREADS_ENV, ignored);
        assert_eq!(
            Pool::builder().build().unwrap().threads(),
            default,
            "{ignored:?}"
        );
    }
    std::env::remove_var(corepool::THREADS_ENV);

    // The global pool is the one `build_global` built...
    Pool::builder()
        .threads(default + 1)
        .thread_name(|i| format!("my-global-{i}"))
        .build_global()
        .unwrap();
    assert_eq!(corepool::current_num_threads(), default + 1);
    let name = corepool::spawn(|| std::thread::current().name().map(str::to_owned))
        .join()
        .unwrap();
    assert!(name.unwrap().starts_with("my-global-"));
    // ...and a second one is an error that starts nothing.
    let again = Pool::builder().threads(1).build_global();
    assert!(matches!(again, Err(BuildError::GlobalPoolAlreadyBuilt)));
    assert_eq!(corepool::current_num_threads(), default + 1);
}
