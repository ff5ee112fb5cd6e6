//! `make local` as a test: template.yaml goes through create → update → delete on this machine,
//! with the real function binaries, against moto and the emulators, the state checked after each
//! step (see `local_stack::demo`). Needs MOTO_ENDPOINT (`make test` provides it) and the function
//! binaries built (`cargo build --workspace --bins`).

use local_stack::{cloud::Cloud, demo, template::Template};

#[tokio::test]
async fn template_yaml_creates_updates_and_deletes_locally() {
    let moto =
        std::env::var("MOTO_ENDPOINT").expect("MOTO_ENDPOINT is not set: run through `make test`");
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml"))
        .unwrap();
    let cloud = Cloud::start(&moto).await.unwrap();
    demo::run(&cloud, Template::parse(&text).unwrap())
        .await
        .unwrap();
}
