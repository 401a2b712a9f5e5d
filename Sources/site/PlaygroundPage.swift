import Foundation

/// The playground page: controls that pick one of the frames `playground` drew (data set, activation, hidden
/// layers, learning rate, epoch), play/pause and a scrubber. The script only chooses which image to show; without
/// scripts the page shows the default run's last frame.
struct PlaygroundPage {
  let datasets: [String]
  let activations: [String]
  let hidden: [String]
  let learningRates: [String]
  let epochs: [Int]
  let settings: [String]
  let defaultSetting: String
  let folder: String

  /// Reads `manifest.json` and checks that every setting has all its frames.
  static func read(folder: String) throws -> PlaygroundPage {
    let path = "\(folder)/manifest.json"
    guard let data = FileManager.default.contents(atPath: path),
      let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
      let datasets = json["datasets"] as? [String], let activations = json["activations"] as? [String],
      let hidden = json["hidden"] as? [String], let rates = json["learning_rates"] as? [NSNumber],
      let epochs = json["frame_epochs"] as? [Int], let settings = json["settings"] as? [String],
      let defaultSetting = json["default"] as? String, !epochs.isEmpty
    else { throw SiteError("\(path) is missing or damaged: run make playground") }
    let page = PlaygroundPage(
      datasets: datasets, activations: activations, hidden: hidden, learningRates: rates.map { "\($0)" }, epochs: epochs,
      settings: settings, defaultSetting: defaultSetting, folder: folder)
    // Every combination the controls can reach must have every frame.
    for id in page.reachable {
      guard settings.contains(id) else { throw SiteError("\(path) lacks the setting \(id), which the controls can choose: run make playground") }
      for k in epochs.indices where !FileManager.default.fileExists(atPath: "\(folder)/\(id)-\(k).png") {
        throw SiteError("\(folder)/\(id)-\(k).png is missing: run make playground")
      }
    }
    guard settings.contains(defaultSetting) else { throw SiteError("\(path): the default setting \(defaultSetting) is not among its settings") }
    return page
  }

  /// Every setting id the controls can produce (without hidden layers the activation is "linear").
  var reachable: [String] {
    var out: [String] = []
    for d in datasets {
      for h in hidden {
        for a in (h == "none" ? ["linear"] : activations) {
          for lr in learningRates { out.append("\(d)-\(a)-\(h)-lr\(lr)") }
        }
      }
    }
    return out
  }

  /// The frames to copy into the site, as (file name, path).
  var files: [(name: String, path: String)] {
    reachable.flatMap { id in epochs.indices.map { k in ("\(id)-\(k).png", "\(folder)/\(id)-\(k).png") } }
  }

  func html(sidebar: String) -> String {
    let parts = defaultSetting.split(separator: "-").map(String.init)
    // circle-tanh-4-lr0.3: data set, activation, hidden, learning rate.
    let (dData, dAct, dHidden, dRate) = (parts[0], parts[1], parts[2], String(parts[3].dropFirst(2)))
    func radios(_ name: String, _ values: [String], _ chosen: String, label: (String) -> String = { $0 }) -> String {
      values.map { v in
        "<label><input type=\"radio\" name=\"\(name)\" value=\"\(v)\"\(v == chosen ? " checked" : "")> \(escape(label(v)))</label>"
      }.joined(separator: "\n")
    }
    let last = epochs.count - 1
    let names = ["circle": "circle", "xor": "XOR", "blobs": "two blobs", "spiral": "spiral"]
    return sidebar + """
      <main class="lesson playground">
      <h1>Playground: watch a network learn</h1>
      <p>Pick a data set, an activation, the hidden layers and a learning rate, then press Play (or drag the slider) to watch
      the network learn: on the left the network, each edge's colour its weight's sign (blue positive, orange negative) and
      its width the weight's size; in the middle the decision boundary, the network's probability of blue over the plane
      with the 200 training points on top; on the right the training loss so far. Training is mini-batch gradient descent
      (batches of 10) on the binary cross-entropy, as in lessons 1 and 4; with no hidden layer the network is lesson 1's
      single neuron. Every frame was computed by this course's engine and drawn by its plotting library when the site was
      built: the page needs no server and no network.</p>
      <p>Things to try: XOR or the circle with no hidden layer (a straight line cannot do it: lesson 1); the spiral with two
      layers of 8 (it needs depth and time); sigmoid against tanh and ReLU with the same layers (lesson 2's vanishing
      gradient); a learning rate of 3 (too large: the loss jumps or the run diverges) against 0.03 (too small: it crawls).</p>
      <noscript><p class="provenance">Scripts are off, so the page shows one run: a circle, one hidden layer of 4 tanh units,
      learning rate 0.3, after \(epochs[last]) epochs.</p><style>.pg-controls { display: none; }</style></noscript>
      <form class="pg-controls" id="pg-controls">
      <fieldset><legend>Data</legend>
      \(radios("data", datasets, dData) { names[$0] ?? $0 })
      </fieldset>
      <fieldset class="activation"><legend>Activation</legend>
      \(radios("activation", activations, dAct == "linear" ? activations[0] : dAct) { $0 == "relu" ? "ReLU" : $0 })
      </fieldset>
      <fieldset><legend>Hidden layers</legend>
      \(radios("hidden", hidden, dHidden) { $0 == "none" ? "none" : $0.split(separator: "x").count == 1 ? "one of \($0)" : "\($0.split(separator: "x").count) of \($0.split(separator: "x")[0])" })
      </fieldset>
      <fieldset><legend>Learning rate</legend>
      \(radios("lr", learningRates, dRate))
      </fieldset>
      </form>
      \(Template.player(
        id: "pg", prefix: "playground/\(defaultSetting)-", labels: epochs.map { "epoch \($0)" },
        alt: "The network, its decision boundary and its training loss", caption: "The chosen network after each epoch shown.",
        start: last, width: 780, height: 280))
      \(Template.playerScript)
      <script>
      (function () {
        var form = document.getElementById('pg-controls'), player = document.getElementById('pg');
        function pick(name) { return form.querySelector('input[name="' + name + '"]:checked').value; }
        form.addEventListener('change', function () {
          var hidden = pick('hidden'), activation = hidden === 'none' ? 'linear' : pick('activation');
          form.querySelector('fieldset.activation').disabled = hidden === 'none';
          player.dataset.prefix = 'playground/' + pick('data') + '-' + activation + '-' + hidden + '-lr' + pick('lr') + '-';
          player.dispatchEvent(new Event('prefixchange'));
        });
        form.querySelector('fieldset.activation').disabled = pick('hidden') === 'none';
      })();
      </script>
      </main>
      """
  }
}
