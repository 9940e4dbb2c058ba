// The portal's one script: fill the point's coordinates from the phone's position. The page
// works without it (the coordinates can be typed); the button appears only when it can work.
(function () {
  var button = document.getElementById("f-locate");
  if (!button || !("geolocation" in navigator)) return;
  var status = document.getElementById("f-locate-status");
  button.hidden = false;
  button.addEventListener("click", function () {
    status.textContent = button.dataset.busy;
    navigator.geolocation.getCurrentPosition(function (position) {
      document.getElementById("f-lat").value = position.coords.latitude.toFixed(5);
      document.getElementById("f-lon").value = position.coords.longitude.toFixed(5);
      status.textContent = button.dataset.done;
    }, function () {
      status.textContent = button.dataset.failed;
    }, {enableHighAccuracy: true, timeout: 15000, maximumAge: 60000});
  });
})();
