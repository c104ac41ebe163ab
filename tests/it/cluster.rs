//! The private local cluster: created on first use, reused while running, stopped cleanly,
//! and its data survives a restart.

use chatgraph::db::cluster::{LocalCluster, create_database_if_missing};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use secrecy::ExposeSecret;

use crate::support::{name, pg_bin};

#[tokio::test]
async fn a_local_cluster_starts_is_reused_stops_and_keeps_its_data() {
    // Under the temp directory: as root, the postgres OS user must be able to reach it.
    let root = std::env::temp_dir().join(format!(
        "chatgraph-cluster-test-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    ));
    let cluster = LocalCluster::new(&root, &pg_bin()).expect("cluster");
    let blocking = |f: fn(&LocalCluster) -> anyhow::Result<bool>| {
        let cluster = cluster.clone();
        tokio::task::spawn_blocking(move || f(&cluster))
    };
    assert!(
        blocking(LocalCluster::ensure_running)
            .await
            .expect("join")
            .expect("start"),
        "first call starts it"
    );
    assert!(
        !blocking(LocalCluster::ensure_running)
            .await
            .expect("join")
            .expect("reuse"),
        "second call reuses it"
    );
    assert!(
        create_database_if_missing(&cluster.url("postgres"), "keep")
            .await
            .expect("create")
    );
    assert!(
        !create_database_if_missing(&cluster.url("postgres"), "keep")
            .await
            .expect("exists")
    );
    let mut conn = AsyncPgConnection::establish(cluster.url("keep").expose_secret())
        .await
        .expect("connect");
    diesel::sql_query("CREATE TABLE notes AS SELECT 'kept'::text AS name")
        .execute(&mut conn)
        .await
        .expect("write");
    drop(conn);

    let stop = |cluster: LocalCluster| tokio::task::spawn_blocking(move || cluster.stop());
    stop(cluster.clone()).await.expect("join").expect("stop");
    assert!(!cluster.is_running().expect("status"));
    assert!(
        blocking(LocalCluster::ensure_running)
            .await
            .expect("join")
            .expect("restart")
    );
    let mut conn = AsyncPgConnection::establish(cluster.url("keep").expose_secret())
        .await
        .expect("reconnect");
    assert_eq!(name(&mut conn, "SELECT name FROM notes").await.as_deref(), Some("kept"));
    drop(conn);
    stop(cluster.clone()).await.expect("join").expect("stop again");
    std::fs::remove_dir_all(&root).expect("clean up");
}
